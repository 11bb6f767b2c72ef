"""`python -m jobs` end to end on the local simulator, and every refusal before anything is submitted."""

import json

import pytest

from jobs import backends, cli
from tests.jobs_process import run_jobs


def test_bell_on_the_local_simulator_through_the_cli(workdir):
    run = run_jobs("run", "--env", "dev", "--circuit", "bell", "--shots", "500", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)  # exactly one JSON document
    assert document["environment"] == "dev"
    assert document["stack"] == {
        "results_bucket_name": "amazon-braket-quantum-cloud-results-dev",
        "results_prefix": "results",
        "region": "us-east-1",
        "allowed_devices": [
            "arn:aws:braket:::device/quantum-simulator/amazon/dm1",
            "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        ],
    }
    assert document["device"]["alias"] == "local" and document["estimated_cost_usd"] == 0
    [task] = document["tasks"]
    assert task["state"] == "COMPLETED" and task["circuit"] == "bell" and task["shots"] == 500
    assert set(task["counts"]) <= {"00", "11"} and sum(task["counts"].values()) == 500
    results_dir = workdir / document["results_dir"]
    assert results_dir.parent == workdir / "results" / "dev"
    png = (results_dir / "histogram.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    csv_lines = (results_dir / "counts.csv").read_text().splitlines()
    assert csv_lines[0] == "task_index,task_id,circuit,bitstring,count,label" and len(csv_lines) == 1 + len(task["counts"])
    summary = json.loads((results_dir / "summary.json").read_text())
    assert summary["device"]["alias"] == "local" and summary["tasks"][0]["id"] == task["id"]
    assert "total_seconds" in summary["timings"]
    raw = json.loads((results_dir / "raw" / "task-0000.json").read_text())
    assert raw["measurementCounts"] == task["counts"]


def test_human_output_shows_estimate_counts_and_histogram(workdir):
    run = run_jobs("run", "--env", "dev", "--circuit", "bell", "--circuit", "ghz:3", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert "estimated $0.00" in run.stdout
    assert "ghz:3" in run.stdout and "COMPLETED" in run.stdout
    assert "histogram.png" in run.stdout
    assert "2/2 tasks" in run.stderr  # the batch progress bar


def test_qasm_file_and_batch_in_process(workdir, capsys):
    program = workdir / "x.qasm"
    program.write_text("OPENQASM 3.0;\nbit[1] b;\nqubit[1] q;\nx q[0];\nb[0] = measure q[0];\n")
    assert cli.main(["run", "--env", "dev", "--circuit", str(program), "--circuit", "ghz:4", "--shots", "50", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [t["circuit"] for t in document["tasks"]] == [str(program), "ghz:4"]  # the path as given
    assert document["tasks"][0]["counts"] == {"1": 50}
    assert set(document["tasks"][1]["counts"]) <= {"0000", "1111"}


def test_estimate_submits_nothing(workdir, capsys, nothing_submitted):
    assert cli.main(["estimate", "--env", "prod", "--device", "forte-1", "--shots", "100", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["estimated_cost_usd"] == pytest.approx(8.30)
    assert document["tasks"] == [] and not (workdir / "results").exists()


@pytest.fixture
def nothing_submitted(monkeypatch):
    """Any submission, local or AWS, fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a task was submitted")

    monkeypatch.setattr(backends.LocalBackend, "submit", refuse)
    monkeypatch.setattr(backends.AwsBackend, "__init__", refuse)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "forte-1"], "device 'forte-1' (arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1) is not allowed in this stack: allowed are local, dm1, sv1"),
        (["--device", "nonsense"], "unknown device 'nonsense'"),
        (["--circuit", "ghz:0"], "--circuit 'ghz:0': the GHZ size must be a whole number from 2 to 30"),
        (["--shots", "0"], "--shots 0: expected a whole number from 1 to 100000"),
        (["--shots", "-3"], "argument --shots: '-3' is not a whole number (digits 0-9)"),
        (["--circuit", "missing.qasm"], "--circuit 'missing.qasm': no such file"),
        (["--device", "sv1", "--max-cost", "0.001"], "estimated cost $0.0125 exceeds --max-cost $0.001"),
        (["--outputs", "nope.json"], "nope.json"),
    ],
)
def test_refusals_exit_2_with_one_line_and_submit_nothing(workdir, capsys, nothing_submitted, args, message):
    assert cli.main(["run", "--env", "dev", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err
    assert "Traceback" not in captured.err
    assert not (workdir / "results").exists()


def test_cost_above_the_environment_cap_is_refused(workdir, capsys, nothing_submitted):
    assert cli.main(["run", "--env", "prod", "--device", "forte-1", "--circuit", "bell", "--circuit", "bell", "--shots", "5000"]) == 2
    assert "estimated cost $800.60 exceeds --max-cost $500.00" in capsys.readouterr().err


def test_malformed_qasm_is_refused_with_the_parser_position(workdir, capsys, nothing_submitted):
    (workdir / "bad.qasm").write_text("OPENQASM 3.0;\nqubit[2] q;\nh q[0;\nmeasure q;\n")
    assert cli.main(["run", "--env", "dev", "--circuit", "bad.qasm"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --circuit 'bad.qasm': not a valid OpenQASM 3 program: line 3:") and err.count("\n") == 1


def test_unknown_environment(workdir, capsys, nothing_submitted):
    assert cli.main(["run", "--env", "qa", "--json"]) == 2
    captured = capsys.readouterr()
    assert "expected one of dev, prod, staging" in captured.err
    assert json.loads(captured.out)["exit_code"] == 2


def test_never_synthesized_stack(tmp_path, monkeypatch, capsys, nothing_submitted):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--env", "dev"]) == 2
    assert "main.py" in capsys.readouterr().err


def test_aws_device_without_credentials_is_refused_before_any_call(workdir, capsys, monkeypatch, no_aws_credentials):
    monkeypatch.setattr(backends.AwsBackend, "__init__", lambda *a, **k: pytest.fail("AWS backend created"))
    assert cli.main(["run", "--env", "dev", "--device", "sv1"]) == 2
    assert "no AWS credentials found" in capsys.readouterr().err
    assert not (workdir / "results").exists()


def test_devices_lists_the_stack_allow_list_with_prices(workdir, capsys, no_aws_credentials):
    assert cli.main(["devices", "--env", "prod", "--json"]) == 0
    rows = {r["alias"]: r for r in json.loads(capsys.readouterr().out)["devices"]}
    assert list(rows)[0] == "local"
    assert set(rows) == {"local", "sv1", "dm1", "forte-1", "forte-enterprise-1", "aquila"}
    assert rows["forte-1"]["estimate_1000_shots_usd"] == pytest.approx(80.30)
    assert rows["sv1"]["status"] == "unknown"  # no credentials: no live call


def test_resume_reruns_an_interrupted_local_job(workdir, capsys):
    from jobs.journal import Journal
    from jobs.runner import job_header, plan_job

    plan = plan_job("dev", circuits=["bell", "ghz:3"], shots=100)
    header = job_header(plan, "20260101T000000Z-abcdef")
    Journal(workdir / "results" / "dev" / header["job_id"]).start(header)
    assert cli.main(["resume", "--env", "dev", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["job_id"] == header["job_id"]
    assert [t["state"] for t in document["tasks"]] == ["COMPLETED", "COMPLETED"]
    assert cli.main(["resume", "--env", "dev"]) == 2  # nothing left to resume
    assert "nothing to resume in dev" in capsys.readouterr().err


def test_a_gateway_environment_refuses_a_direct_run_before_any_aws_call(workdir, capsys, nothing_submitted):
    """prod submits through its DMZ gateway (submission = "gateway"): its roles may not create tasks,
    so a direct run is refused with what to do, not left to an AccessDenied."""
    assert cli.main(["run", "--env", "prod", "--device", "sv1", "--circuit", "bell", "--shots", "10"]) == 2
    err = capsys.readouterr().err
    assert "prod submits through its DMZ gateway only: add --gateway URL" in err and err.count("\n") == 1
