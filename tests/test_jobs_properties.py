"""Property test: `python -m jobs` driven in-process with generated command lines and files.

Whatever the input (NaN and unicode digits, huge numbers, empty strings, random bytes,
truncated OpenQASM, JSON of the wrong shape), every run must end as the CLI promises:
exit code 0, 1 or 2; no traceback; one stderr line on a refusal (exit 2) and nothing
written for it; exactly one JSON document on stdout under --json. No AWS credentials
and an unreachable Braket endpoint: nothing can reach AWS.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs import cli

MIN_CASES = 300
GOOD_QASM = "OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\nb = measure q;\n"

ODD_NUMBERS = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "-0", "0", "1e3", "１０", "²", "0x10", "", " 5", "+7", "9" * 30, "2.5"]),
    st.text(max_size=4),
)
HOSTILE_NUMBERS = st.one_of(st.integers(-5, 40).map(str), ODD_NUMBERS)
# GHZ sizes: up to 16 qubits (milliseconds on the local simulator) and past its 26-qubit limit
# (refused before anything runs). 17 to 26 take the same path as 16, in up to 5 s of simulation
# each (2**26 amplitudes); the limit itself is tested in test_circuit_validation.py.
GHZ_SIZES = st.one_of(st.integers(-5, 16), st.integers(27, 40)).map(str)


def mostly(valid, hostile):
    """Valid values three times in four, so the success paths are exercised as much as the refusals."""
    return st.one_of(valid, valid, valid, hostile)


VALUES = {
    "--env": mostly(st.sampled_from(["dev", "prod"]), st.sampled_from(["staging", "qa", "", "DEV", "ｄｅｖ"])),
    "--device": mostly(
        st.just("local"),
        st.sampled_from(["sv1", "dm1", "forte-1", "aquila", "ankaa-3", "nonsense", "",
                         "arn:aws:braket:::device/quantum-simulator/amazon/sv1", "arn:aws:braket:bad"]),
    ),
    "--circuit": mostly(
        st.sampled_from(["bell", "ghz:2", "ghz:3", "in.qasm"]),
        st.one_of(st.sampled_from(["ghz:0", "ghz:31", "ghz:³", "ghz:", "ghz:-1", "", "missing.qasm", "."]),
                  st.one_of(GHZ_SIZES, ODD_NUMBERS).map(lambda n: f"ghz:{n}")),
    ),
    "--shots": mostly(st.integers(1, 50).map(str), HOSTILE_NUMBERS),
    "--max-cost": mostly(st.sampled_from(["0", "1", "2.50", "1000"]), HOSTILE_NUMBERS),
    "--parallel": mostly(st.integers(1, 64).map(str), HOSTILE_NUMBERS),
    "--outputs": st.sampled_from(["given-outputs.json", "missing.json", "a-directory", ""]),
}
OPTIONS = {  # what each command takes; anything else must be refused as well
    "run": ["--device", "--circuit", "--shots", "--max-cost", "--parallel"],
    "estimate": ["--device", "--circuit", "--shots", "--max-cost"],
    "devices": ["--json"],
    "resume": ["--max-cost", "--parallel"],
}
FLAGS = mostly(st.just("--json"), st.sampled_from(["--js", "--help-me", "-x", "--parallel"]))
IDS = st.sampled_from(["20260101T000000Z-aaaaaa", "x:quantum-task/abc", "arn:aws:braket:us-east-1:123456789012:quantum-task/abc",
                       "", "../../etc", "ｊｏｂ"])


def _json_shapes():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.sampled_from(
                                                             ["allowed_devices", "region", "dev", "outputs", "value",
                                                              "results_bucket_name", "environment"]), inner, max_size=3)),
                        max_leaves=6)


FILES = st.one_of(
    st.binary(max_size=64),
    st.integers(0, len(GOOD_QASM)).map(lambda n: GOOD_QASM[:n].encode()),
    st.just(GOOD_QASM.encode()),
    _json_shapes().map(lambda v: json.dumps(v).encode()),
)


@st.composite
def valid_command_lines(draw):
    """Well-formed local runs and estimates, so the success path (and its JSON) is checked as often as refusals."""
    command = draw(st.sampled_from(["run", "estimate"]))
    argv = [command, "--env", draw(st.sampled_from(["dev", "prod"]))]
    for _ in range(draw(st.integers(0, 3))):
        argv += ["--circuit", draw(st.sampled_from(["bell", "ghz:2", "ghz:3", "ghz:5", "in.qasm"]))]
    argv += ["--shots", str(draw(st.integers(1, 50)))]
    if draw(st.booleans()):
        argv += ["--max-cost", draw(st.sampled_from(["0", "0.01", "5", "12.5"]))]
    if command == "run" and draw(st.booleans()):
        argv += ["--parallel", str(draw(st.integers(1, 64)))]
    return argv + (["--json"] if draw(st.booleans()) else [])


@st.composite
def command_lines(draw):
    if draw(st.floats(0, 1)) < 0.3:
        return draw(valid_command_lines())
    command = draw(mostly(st.sampled_from(["run", "estimate", "devices", "resume"]),
                          st.sampled_from(["status", "results", "cancel", "discard", "bogus"])))
    argv = [command]
    if draw(st.floats(0, 1)) < 0.85:
        argv += ["--env", draw(VALUES["--env"])]
    usual = OPTIONS.get(command, [])
    names = draw(st.lists(mostly(st.sampled_from(usual), st.sampled_from(sorted(VALUES))) if usual
                          else st.sampled_from(sorted(VALUES)), max_size=4))
    for name in names:
        if name == "--json":
            argv.append(name)
            continue
        value = draw(VALUES[name])
        argv += [f"{name}={value}"] if value.startswith("-") else [name, value]
    argv += draw(st.lists(FLAGS, max_size=2))
    if command not in OPTIONS or draw(st.floats(0, 1)) < 0.1:
        argv += draw(st.lists(IDS, max_size=2))
    return draw(st.permutations(argv)) if draw(st.floats(0, 1)) < 0.1 else argv


def test_every_generated_command_line_ends_as_promised(project_root, tmp_path, monkeypatch, capsys, no_aws_credentials):
    monkeypatch.setenv("BRAKET_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing answers
    shutil.copytree(project_root / "cdktf.out", tmp_path / "cdktf.out")
    (tmp_path / "a-directory").mkdir()
    monkeypatch.chdir(tmp_path)
    ran = {"cases": 0, "exit codes": {}}

    @settings(max_examples=MIN_CASES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(argv=command_lines(), circuit_file=FILES, outputs_file=FILES)
    def check(argv, circuit_file, outputs_file):
        shutil.rmtree(tmp_path / "results", ignore_errors=True)
        (tmp_path / "in.qasm").write_bytes(circuit_file)
        (tmp_path / "given-outputs.json").write_bytes(outputs_file)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
        stdout, stderr = out.getvalue(), err.getvalue()
        ran["cases"] += 1
        ran["exit codes"][code] = ran["exit codes"].get(code, 0) + 1
        assert code in (0, 1, 2), (argv, code, stderr)
        assert "Traceback" not in stderr and "error: unexpected" not in stderr, (argv, stderr)
        if code == 2:
            assert stderr.count("\n") == 1, (argv, stderr)
            assert not (tmp_path / "results").exists(), argv  # a refusal writes nothing
        if "--json" in argv:
            json.loads(stdout)  # exactly one document (json.loads refuses trailing data)

    check()
    with capsys.disabled():  # shown in every run, CI included
            print(f"\nproperty test: {ran['cases']} generated command lines, exit codes {dict(sorted(ran['exit codes'].items()))}")
    assert ran["cases"] >= MIN_CASES
