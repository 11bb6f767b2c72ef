"""The adjoint gradient result type (SV1, shots=0), which the local simulators do not compute.

``#pragma braket result adjoint_gradient expectation(2 * x(q[0]) @ y(q[1]) + z(q[2])) theta, phi``
asks for the expectation of a Hamiltonian and its gradient with respect to the named free
parameters (``all``: every one). The local simulators' grammar does not know this pragma: it
misreads it as a plain expectation, silently. So the test service rewrites each such pragma
into one ``expectation`` pragma per term (the interpreter resolves their qubits), runs the
program at the task's inputs, and differentiates with the five-point stencil at ``inputs +- STEP``
and ``+- 2 STEP`` (truncation error STEP**4 / 30 times a fifth derivative, rounding error about
1e-16 / STEP: some 1e-12 in all). Braket's adjoint method is exact, so a value the service
returns as 0.0 comes back here as about 1e-13.

The result is written as Braket writes it: type ``{"type": "adjoint_gradient", "observable":
"2 * x @ y + 1 * z", "targets": [[0, 1], [2]], "parameters": ["theta", "phi"]}`` and value
``{"expectation": float, "gradient": {"theta": float, "phi": float}}``. The observable's text
for sums is this service's choice (a single product, "1 * z @ z", is the form seen in public
results). Hermitian observables in a gradient are not supported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from braket.ir.jaqcd import AdjointGradient
from braket.task_result.gate_model_task_result_v1 import ResultTypeValue

STEP = 1e-3

_PRAGMA = re.compile(r"^[ \t]*#pragma[ \t]+braket[ \t]+result[ \t]+adjoint_gradient[ \t]+expectation\((?P<observable>.*)\)"
                     r"[ \t]*(?P<parameters>[^)\n]*?)[ \t]*$", re.MULTILINE)
_TERM = re.compile(r"^(?:(?P<coefficient>\d*\.?\d+(?:[eE][-+]?\d+)?)\s*\*\s*)?(?P<product>.+)$")
_FACTOR = re.compile(r"^(?P<name>[xyzhi])\s*\((?P<qubit>[^()]*)\)$")
_SUM = re.compile(r"(?<=\))\s*([+-])\s*")  # a + or - right after a factor's closing parenthesis
_RESULT_PRAGMA = re.compile(r"^[ \t]*#pragma\s+braket\s+result\b", re.MULTILINE)


class UnsupportedGradient(ValueError):
    """A gradient request this service cannot compute (the message says why)."""


@dataclass(frozen=True)
class Gradient:
    """One adjoint gradient pragma: its terms became expectations ``first .. first+len(coefficients)-1``."""

    coefficients: tuple[float, ...]
    names: tuple[tuple[str, ...], ...]  # each term's factor names ("x", "y")
    parameters: tuple[str, ...] | None  # None: all free parameters
    first: int = 0


def rewrite(source: str) -> tuple[str, list[Gradient]]:
    """``source`` (one pragma per line) with each adjoint gradient pragma replaced by one
    expectation pragma per term, and the gradients found, in program order."""
    gradients: list[Gradient] = []
    pieces: list[str] = []
    added = last = 0  # expectations added beyond one per gradient pragma; end of the last match
    for match in _PRAGMA.finditer(source):
        coefficients, names, products = _terms(match["observable"])
        listed = [p.strip() for p in match["parameters"].split(",") if p.strip()]
        first = len(_RESULT_PRAGMA.findall(source, 0, match.start())) + added
        gradients.append(Gradient(coefficients, names, None if listed in ([], ["all"]) else tuple(listed), first))
        added += len(products) - 1
        pieces += [source[last:match.start()],
                   "\n".join(f"#pragma braket result expectation {p}" for p in products)]
        last = match.end()
    return "".join(pieces) + source[last:], gradients


def _terms(observable: str) -> tuple[tuple[float, ...], tuple[tuple[str, ...], ...], list[str]]:
    """Coefficients, factor names and product texts of ``2 * x(q[0]) @ y(q[1]) - z(q[2])``."""
    coefficients, names, products = [], [], []
    text = observable.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    parts = _SUM.split(text.lstrip("+-").strip())  # [term, op, term, op, term...]
    for index in range(0, len(parts), 2):
        if index:
            sign = -1.0 if parts[index - 1] == "-" else 1.0
        match = _TERM.match(parts[index].strip())
        factors = [f.strip() for f in match["product"].split("@")] if match else []
        parsed = [_FACTOR.match(f) for f in factors]
        if not factors or not all(parsed):
            raise UnsupportedGradient("the test service computes adjoint_gradient of sums of products of "
                                      f"x, y, z, h, i only; got {parts[index].strip()!r}")
        coefficients.append(sign * float(match["coefficient"] or 1.0))
        names.append(tuple(p["name"] for p in parsed))
        products.append(" @ ".join(factors))
    return tuple(coefficients), tuple(names), products


def fold(results: list[Any], gradients: list[Gradient], inputs: dict[str, Any],
         value: Callable[[Gradient], Any] | None = None) -> list[Any]:
    """The rewritten program's result types (IR objects, or ``ResultTypeValue`` when ``value`` is
    given) with each gradient's expectations folded into one AdjointGradient;
    ``value(gradient)`` computes the folded value."""
    out, by_first, index = [], {g.first: g for g in gradients}, 0
    while index < len(results):
        gradient = by_first.get(index)
        if gradient is None:
            out.append(results[index])
            index += 1
            continue
        terms = results[index:index + len(gradient.coefficients)]
        ir = AdjointGradient(
            observable=_hamiltonian(gradient),
            targets=[list((t.type if isinstance(t, ResultTypeValue) else t).targets or []) for t in terms],
            parameters=list(gradient.parameters or sorted(inputs)))
        out.append(ir if value is None else ResultTypeValue.construct(type=ir, value=value(gradient)))
        index += len(terms)
    return out


def _hamiltonian(gradient: Gradient) -> str:
    """``2 * z @ z - 0.5 * z``: the observable's text in the result type."""
    text = ""
    for coefficient, names in zip(gradient.coefficients, gradient.names):
        sign = "-" if coefficient < 0 else "+"
        text += f" {sign} " if text else ("-" if sign == "-" else "")
        text += f"{abs(coefficient):g} * {' @ '.join(names)}"
    return text


def values(run: Callable[[dict[str, Any]], list[Any]], gradient: Gradient, inputs: dict[str, Any]) -> dict[str, Any]:
    """``{"expectation", "gradient"}`` of ``gradient``; ``run(inputs)`` gives the result values of
    the rewritten program at ``inputs``."""
    def energy(values: list[Any]) -> float:
        terms = values[gradient.first:gradient.first + len(gradient.coefficients)]
        return float(sum(c * float(v) for c, v in zip(gradient.coefficients, terms)))

    derivatives = {}
    for name in gradient.parameters or sorted(inputs):
        if name not in inputs:
            raise UnsupportedGradient(f"adjoint_gradient parameter {name!r} is not an input of the program")
        at = {k: energy(run(inputs | {name: float(inputs[name]) + k * STEP})) for k in (-2, -1, 1, 2)}
        derivatives[name] = (8 * (at[1] - at[-1]) - (at[2] - at[-2])) / (12 * STEP)
    return {"expectation": energy(run(inputs)), "gradient": derivatives}
