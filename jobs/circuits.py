"""Circuit specs from the command line: `bell`, `ghz:N` or a path to an OpenQASM 3 file."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

MAX_GHZ_QUBITS = 30  # beyond this no simulator here (or in SV1's free tier of patience) is practical
SPEC_HELP = "'bell', 'ghz:N' (2 <= N <= 30) or a path to an OpenQASM 3 file"


@dataclass(frozen=True)
class CircuitSpec:
    """A validated circuit: its name as given and its OpenQASM 3 source."""

    name: str
    source: str

    def program(self):
        """The Braket program to run (an OpenQASM 3 `Program`, accepted by every device)."""
        from braket.ir.openqasm import Program

        return Program(source=self.source)


def _ghz_source(qubits: int) -> str:
    lines = ["OPENQASM 3.0;", f"bit[{qubits}] b;", f"qubit[{qubits}] q;", "h q[0];"]
    lines += [f"cnot q[{i}], q[{i + 1}];" for i in range(qubits - 1)]
    lines.append("b = measure q;")
    return "\n".join(lines) + "\n"


def parse_circuit(spec: str) -> CircuitSpec:
    """Validate ``spec`` before anything is submitted; UsageError names what is wrong."""
    if spec == "bell":
        return CircuitSpec("bell", _ghz_source(2))
    if spec.startswith("ghz:"):
        count = spec[4:]
        if not count.isdigit() or not 2 <= int(count) <= MAX_GHZ_QUBITS:
            raise UsageError(f"--circuit {spec!r}: the GHZ size must be a whole number from 2 to {MAX_GHZ_QUBITS}")
        return CircuitSpec(spec, _ghz_source(int(count)))
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"--circuit {spec!r}: no such file; expected {SPEC_HELP}")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--circuit {spec!r}: cannot read the file ({error})") from None
    _check_openqasm(spec, source)
    return CircuitSpec(path.name, source)


def _check_openqasm(spec: str, source: str) -> None:
    # The simulator's own OpenQASM 3 parser: what it rejects, no device would run.
    from braket.default_simulator.openqasm.parser.openqasm_parser import parse

    if "measure" not in source:
        raise UsageError(f"--circuit {spec!r}: the OpenQASM program measures nothing, so it would return no counts")
    syntax_errors = io.StringIO()  # ANTLR prints syntax errors to stderr: keep them for the message
    try:
        with contextlib.redirect_stderr(syntax_errors):
            parse(source)
    except Exception as error:  # the parser raises several types; all mean "malformed"
        detail = "; ".join(syntax_errors.getvalue().split("\n")).strip("; ") or " ".join(str(error).split())
        raise UsageError(f"--circuit {spec!r}: not a valid OpenQASM 3 program: {detail or type(error).__name__}") from None
