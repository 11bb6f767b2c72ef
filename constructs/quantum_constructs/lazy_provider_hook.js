// The Node half of lazy_provider.py, loaded into the jsii kernel with `node --require`.
//
// The AWS provider's lib/index.js is one line per resource module, so loading the assembly
// requires every one of them: @cdktf/provider-aws's ~2,200 lines of `exports.x = require("./x");`
// (about 2.5 s and 450 MB), @cdktn/provider-aws's ~2,400 lines of
// `exports.x = __importStar(require("./x/index"));` (4-7 s and over 700 MB). The kernel only reaches a
// module through `exports.x` when it builds a type of that module, so this hook compiles that one
// file with each such line turned into a getter that runs the same expression on first access.
// Key order, the modules and everything they export are unchanged.
//
// The two shapes are TypeScript's CommonJS output for `export * as x from "./x"`, without and with
// esModuleInterop. The second starts with TypeScript's module helpers (__createBinding,
// __setModuleDefault, __importStar): that block is kept verbatim, and recognised only as the exact
// text of TS_HELPERS below, so nothing but those three definitions runs ahead of the getters.
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

// Every line of the expected index.js is one of KEPT_LINES, a module line of one shape (the
// first, unless the file defines TS_HELPERS), or a line of TS_HELPERS' one block.
const SHAPES = {
  require: {
    line: /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/,
    load: (module) => `require(${module})`,
  },
  importStar: {
    line: /^exports\.([A-Za-z_$][\w$]*) = __importStar\(require\("(\.\/[\w.-]+(?:\/index)?)"\)\);$/,
    load: (module) => `__importStar(require(${module}))`,
  },
};
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
// TypeScript's (5.7 to 5.9 at least) esModuleInterop helpers, as @cdktn/provider-aws's index.js has
// them: allowed once, before any module line, and only exactly so (then module lines are importStar).
const TS_HELPERS = [
  "var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {",
  "    if (k2 === undefined) k2 = k;",
  "    var desc = Object.getOwnPropertyDescriptor(m, k);",
  '    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {',
  "      desc = { enumerable: true, get: function() { return m[k]; } };",
  "    }",
  "    Object.defineProperty(o, k2, desc);",
  "}) : (function(o, m, k, k2) {",
  "    if (k2 === undefined) k2 = k;",
  "    o[k2] = m[k];",
  "}));",
  "var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {",
  '    Object.defineProperty(o, "default", { enumerable: true, value: v });',
  "}) : function(o, v) {",
  '    o["default"] = v;',
  "});",
  "var __importStar = (this && this.__importStar) || (function () {",
  "    var ownKeys = function(o) {",
  "        ownKeys = Object.getOwnPropertyNames || function (o) {",
  "            var ar = [];",
  "            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;",
  "            return ar;",
  "        };",
  "        return ownKeys(o);",
  "    };",
  "    return function (mod) {",
  "        if (mod && mod.__esModule) return mod;",
  "        var result = {};",
  '        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);',
  "        __setModuleDefault(result, mod);",
  "        return result;",
  "    };",
  "})();",
];

const DEFINE_LAZY =
  "function __lazyExport(name, load) {\n" +
  "  Object.defineProperty(exports, name, { configurable: true, enumerable: true, get() {\n" +
  "    const value = load();\n" +
  "    Object.defineProperty(exports, name, { configurable: true, enumerable: true, writable: true, value });\n" +
  "    return value;\n" +
  "  } });\n" +
  "}\n";

/** Whether `lines` hold TS_HELPERS from index `start` on, exactly. */
function helpersAt(lines, start) {
  return TS_HELPERS.every((expected, offset) => lines[start + offset] === expected);
}

/** { source, reason }: the lazy source of an index.js of an expected shape, or null and why not. */
function lazySource(source) {
  const lines = source.split("\n").map((line) => line.replace(/\r$/, ""));
  const out = [];
  let shape = SHAPES.require;
  let lazy = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (lazy === 0 && shape === SHAPES.require && helpersAt(lines, i)) {
      // Kept verbatim; from here on, only module lines that go through __importStar.
      out.push(...TS_HELPERS);
      i += TS_HELPERS.length - 1;
      shape = SHAPES.importStar;
      continue;
    }
    const match = shape.line.exec(line);
    if (match) {
      // The require stays literal, inside a closure, so it resolves from this module; the closure
      // runs the line's own right-hand side, so the exported value is the one it would have been.
      out.push(`__lazyExport(${JSON.stringify(match[1])}, () => ${shape.load(JSON.stringify(match[2]))});`);
      lazy++;
    } else if (KEPT_LINES.some((pattern) => pattern.test(line))) {
      out.push(line);
    } else {
      return { source: null, reason: `line ${i + 1} has an unexpected shape: ${line.slice(0, 80)}` };
    }
  }
  if (lazy === 0) {
    const expected = shape === SHAPES.require ? "exports.x = require(...)" : "exports.x = __importStar(require(...))";
    return { source: null, reason: `no \`${expected}\` line` };
  }
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
