// The Node half of lazy_provider.py, loaded into the jsii kernel with `node --require`.
//
// The AWS provider's lib/index.js (@cdktf/provider-aws, or @cdktn/provider-aws) is ~2,200 lines of `exports.x = require("./x");`, so
// loading the assembly requires every resource module (about 2.5 s and 450 MB). The kernel
// only reaches a module through `exports.x` when it builds a type of that module, so this
// hook compiles that one file with each such line turned into a getter that requires the
// module on first access. Key order, the modules and everything they export are unchanged.
//
// The package also ships lib/lazy-index.js, but its getters are not enumerable and it lacks
// __esModule; deriving from index.js itself keeps exactly what the ordinary load exports.
//
// Safe by construction: any other file, any other package, or an index.js with a line of a
// shape not listed below is loaded the ordinary way, untouched. Nothing on disk changes.
// QUANTUM_CONSTRUCTS_LAZY_HOOK_DEBUG=1 prints which way the file was loaded.
"use strict";

const Module = require("module");
const fs = require("fs");
const path = require("path");

// The provider's npm package (@cdktf/provider-aws or @cdktn/provider-aws), as lazy_provider.py's
// install() names it from quantum_constructs.framework; without it, nothing is made lazy.
const PACKAGE_NAME = process.env.QUANTUM_CONSTRUCTS_LAZY_HOOK_PACKAGE || "";
const INDEX_SUFFIX = path.join(...PACKAGE_NAME.split("/"), "lib", "index.js");

// Every line of the expected index.js is one of these; LAZY_LINE is the one made lazy.
const LAZY_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
const KEPT_LINES = [
  /^$/,
  /^"use strict";$/,
  /^\/\*\*$/,
  /^ \*( .*)?$/,
  /^ \*\/$/,
  /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/,
  /^exports\.[A-Za-z_$][\w$]*( = exports\.[A-Za-z_$][\w$]*)* = void 0;$/,
  /^\/\/ .*$/,
  /^\/\/# sourceMappingURL=\S+$/,
];

const DEFINE_LAZY =
  "function __lazyExport(name, load) {\n" +
  "  Object.defineProperty(exports, name, { configurable: true, enumerable: true, get() {\n" +
  "    const value = load();\n" +
  "    Object.defineProperty(exports, name, { configurable: true, enumerable: true, writable: true, value });\n" +
  "    return value;\n" +
  "  } });\n" +
  "}\n";

/** { source, reason }: the lazy source of an index.js of the expected shape, or null and why not. */
function lazySource(source) {
  const lines = source.split("\n");
  const out = [];
  let lazy = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    const match = LAZY_LINE.exec(line);
    if (match) {
      // The require stays literal, inside a closure, so it resolves from this module.
      out.push(`__lazyExport(${JSON.stringify(match[1])}, () => require(${JSON.stringify(match[2])}));`);
      lazy++;
    } else if (KEPT_LINES.some((pattern) => pattern.test(line))) {
      out.push(line);
    } else {
      return { source: null, reason: `line ${i + 1} has an unexpected shape: ${line.slice(0, 80)}` };
    }
  }
  if (lazy === 0) return { source: null, reason: "no `exports.x = require(...)` line" };
  // The helper goes after the first line, so "use strict" stays the directive prologue.
  out.splice(1, 0, DEFINE_LAZY);
  return { source: out.join("\n"), reason: `${lazy} modules deferred` };
}

function isProviderIndex(filename) {
  if (!PACKAGE_NAME || !filename.endsWith(INDEX_SUFFIX)) return false;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(filename, "..", "..", "package.json"), "utf8"));
    return manifest.name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

function debug(message) {
  if (process.env.QUANTUM_CONSTRUCTS_LAZY_HOOK_DEBUG === "1") {
    process.stderr.write(`quantum_constructs lazy provider: ${message}\n`);
  }
}

const ordinaryLoad = Module._extensions[".js"];
Module._extensions[".js"] = function loadJs(module, filename) {
  if (isProviderIndex(filename)) {
    const { source, reason } = lazySource(fs.readFileSync(filename, "utf8"));
    if (source !== null) {
      debug(`lazy: ${reason}`);
      return module._compile(source, filename);
    }
    debug(`ordinary load: ${reason}`);
  }
  return ordinaryLoad.call(this, module, filename);
};

module.exports = { lazySource };
