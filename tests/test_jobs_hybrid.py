"""`python -m jobs hybrid` offline: the example as a user runs it, the job's environment, Ctrl-C and resume,
and every refusal before anything is uploaded or created.

Offline, the entry point runs as Braket's job container runs it (amazon-braket-containers'
braket_container.py: the code on sys.path, `module:function` called with the hyperparameters
bound by their annotations, a bare module run as `python -m`), with the environment variables
the container sets (the SDK's braket/jobs/local/local_job_container_setup.py), so
`braket.jobs.save_job_result` and friends work unmodified.
"""

import json
import math
import signal
import textwrap
import time

import pytest

from jobs import cli
from tests.jobs_process import REPO, run_jobs, start_jobs


@pytest.fixture
def example():
    return str(REPO / "examples" / "hybrid_vqe")


def hybrid(*args, cwd):
    run = run_jobs("hybrid", "--env", "dev", *args, cwd=cwd)
    document = json.loads(run.stdout) if "--json" in args else None
    return run, document


def write_algorithm(root, body: str, name: str = "algo"):
    """An algorithm's source folder; the SDK is imported inside functions, so the CLI's import check is quick."""
    source = root / name
    source.mkdir()
    (source / "main.py").write_text(textwrap.dedent(body))
    return source


def test_the_example_runs_offline_by_default(workdir, example):
    run, document = hybrid("--source", example, "--entry-point", "hybrid_vqe.vqe:main",
                           "--hyperparameter", "iterations=4", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert document["state"] == "COMPLETED" and document["complete"] is True
    assert document["device"] == {"alias": "local", "arn": "local"} and document["estimated_cost_usd"] == 0
    assert document["braket_job_arn"] is None and document["hyperparameters"] == {"iterations": "4"}
    result = document["result"]
    assert len(result["energy_history"]) == 5 and result["device"] == "local:braket/braket_sv"
    # The ansatz reaches the exact ground state (-sqrt 2, at theta = 5 pi / 4); 1000 shots leave noise.
    assert abs(result["energy"] - (-math.sqrt(2))) < 0.2 and abs(result["theta"] - 5 * math.pi / 4) < 0.4
    directory = workdir / document["results_dir"]
    assert json.loads((directory / "result.json").read_text()) == result
    assert json.loads((directory / "summary.json").read_text())["state"] == "COMPLETED"
    assert "step 4:" in (directory / "job.log").read_text()
    assert (directory / "code" / "hybrid_vqe" / "vqe.py").is_file()  # what ran, snapshotted
    assert list((directory / "checkpoints").glob("*.json"))

    status = run_jobs("status", document["job_id"], "--json", cwd=workdir)
    assert status.returncode == 0 and json.loads(status.stdout)["tasks"][0]["state"] == "COMPLETED"
    results = run_jobs("results", document["job_id"], cwd=workdir)
    assert results.returncode == 0 and '"energy": ' in results.stdout


def test_the_job_sees_what_braket_sets_and_typed_hyperparameters(workdir):
    source = write_algorithm(workdir, """
        import os

        def run(steps: int, rate: float, label):
            from braket.jobs import save_job_result
            from braket.jobs.environment_variables import get_hyperparameters

            names = [n for n in os.environ if n.startswith("AMZN_BRAKET_")]
            save_job_result({"environment": {n: os.environ[n] for n in names}, "cwd": os.getcwd(),
                             "args": [steps, rate, label], "types": [type(steps).__name__, type(rate).__name__],
                             "hyperparameters": get_hyperparameters()})
    """)
    run, document = hybrid("--source", str(source), "--entry-point", "algo.main:run", "--hyperparameter", "steps=3",
                           "--hyperparameter", "rate=0.5", "--hyperparameter", "label=a=b", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    result = document["result"]
    assert result["args"] == [3, 0.5, "a=b"] and result["types"] == ["int", "float"]  # the value may hold '='
    assert result["hyperparameters"] == {"steps": "3", "rate": "0.5", "label": "a=b"}
    env = result["environment"]
    directory = workdir / document["results_dir"]
    assert env["AMZN_BRAKET_DEVICE_ARN"] == "local:braket/braket_sv"
    assert env["AMZN_BRAKET_JOB_NAME"] == document["job_name"] == f"dev-{document['job_id'].lower()}"
    for name, folder in [("AMZN_BRAKET_JOB_RESULTS_DIR", "output"), ("AMZN_BRAKET_CHECKPOINT_DIR", "checkpoints"),
                         ("AMZN_BRAKET_INPUT_DIR", "input/data")]:
        assert env[name] == str(directory.resolve() / folder)
    assert env["AMZN_BRAKET_HP_FILE"] == str(directory.resolve() / "input/config/hyperparameters.json")
    assert env["AMZN_BRAKET_OUT_S3_BUCKET"] == "amazon-braket-quantum-cloud-results-dev"
    assert env["AMZN_BRAKET_TASK_RESULTS_S3_URI"] == (
        f"s3://amazon-braket-quantum-cloud-results-dev/jobs/{document['job_name']}/tasks")
    assert result["cwd"] == str(directory.resolve() / "code")


def test_a_failing_job_says_why(workdir):
    source = write_algorithm(workdir, """
        def run():
            raise RuntimeError("optimizer diverged")
    """)
    run, document = hybrid("--source", str(source), "--entry-point", "algo.main:run", "--json", cwd=workdir)
    assert run.returncode == 1
    assert document["state"] == "FAILED" and document["failure_reason"] == "RuntimeError: optimizer diverged"
    assert "Traceback" in (workdir / document["results_dir"] / "job.log").read_text()


def test_ctrl_c_stops_a_local_job_and_resume_continues_from_its_checkpoint(workdir):
    source = write_algorithm(workdir, """
        import time

        def run():
            from braket.jobs import load_job_checkpoint, save_job_checkpoint, save_job_result

            try:
                done = load_job_checkpoint()["done"]
            except FileNotFoundError:
                save_job_checkpoint({"done": 1})
                print("checkpointed", flush=True)
                time.sleep(60)
                return
            save_job_result({"resumed_from": done})
    """)
    client = start_jobs("hybrid", "--env", "dev", "--source", str(source), "--entry-point", "algo.main:run",
                        cwd=workdir, text=True)
    deadline = time.monotonic() + 60
    while not list(workdir.glob("results/dev/*/checkpoints/*.json")):
        assert time.monotonic() < deadline and client.poll() is None
        time.sleep(0.05)
    time.sleep(0.2)
    client.send_signal(signal.SIGINT)
    _, stderr = client.communicate(timeout=30)
    assert client.returncode == 130, stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert "interrupted: hybrid job INTERRUPTED" in line and "python -m jobs resume --env dev" in line
    [directory] = list((workdir / "results" / "dev").iterdir())
    assert json.loads((directory / "summary.json").read_text())["complete"] is False

    resumed = run_jobs("resume", "--env", "dev", "--json", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads(resumed.stdout)
    assert document["state"] == "COMPLETED" and document["result"] == {"resumed_from": 1}
    assert document["job_id"] == directory.name  # the same job, in the same folder


def test_a_bare_module_runs_as_main(workdir):
    source = write_algorithm(workdir, """
        from braket.jobs import save_job_result

        if __name__ == "__main__":
            save_job_result({"ran_as": __name__})
    """)
    run, document = hybrid("--source", str(source), "--entry-point", "algo.main", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert document["result"] == {"ran_as": "__main__"}


# -- refusals: exit 2, one line, nothing created ------------------------------------------------------


def refuse(workdir, capsys, *args) -> str:
    assert cli.main(["hybrid", "--env", "dev", *args]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert not (workdir / "results").exists(), "a refused job left a folder"
    return line


@pytest.mark.parametrize(
    "body, entry_point, expected",
    [
        ("def run(): pass\n", "algo.nothing:run", "no module algo.nothing in"),
        ("def run(): pass\n", "main:run", "entry points start with the source's name"),
        ("import package_that_is_not_installed\ndef run(): pass\n", "algo.main:run",
         "does not import: ModuleNotFoundError: No module named 'package_that_is_not_installed'"),
        ("def run(:\n", "algo.main:run", "does not import: SyntaxError"),
        ("def other(): pass\n", "algo.main:run", "does not import: AttributeError: module algo.main has no function run"),
        ("def run(): pass\n", "algo.main:run:x", "expected MODULE[:FUNCTION]"),
        ("JOB_TASKS = {'tasks': -1, 'shots': 10}\ndef run(): pass\n", "algo.main:run", "JOB_TASKS must be a literal"),
    ],
)
def test_bad_entry_points_are_refused(workdir, capsys, body, entry_point, expected):
    source = write_algorithm(workdir, body)
    assert expected in refuse(workdir, capsys, "--source", str(source), "--entry-point", entry_point)


def test_a_source_over_the_size_limit_is_refused(workdir, capsys):
    source = write_algorithm(workdir, "def run(): pass\n")
    with open(source / "data.bin", "wb") as handle:
        handle.truncate(51 * 2**20)  # sparse: the size counts, the disk does not fill
    line = refuse(workdir, capsys, "--source", str(source), "--entry-point", "algo.main:run")
    assert "51.0 MiB is over the 50 MiB" in line and "input channels" in line


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--instance-type", "ml.m5.huge"], "--instance-type 'ml.m5.huge' is not one this tool prices: expected one of ml.m5.large"),
        (["--hyperparameter", "iterations"], "'iterations' is not KEY=VALUE"),
        (["--hyperparameter", "a=1", "--hyperparameter", "a=2"], "--hyperparameter a: given twice"),
        (["--device", "forte-1"], "forte-1"),
        (["--max-runtime-minutes", "0"], "--max-runtime-minutes 0: expected 1 to 7200"),
        (["--max-runtime-minutes", "7201"], "expected 1 to 7200"),
        (["--source", "no/such/dir"], "--source no/such/dir: no such file or directory"),
        (["--device", "sv1"], "jobs_role_arn"),  # known only once the stack is deployed
    ],
)
def test_bad_options_are_refused(workdir, capsys, example, extra, expected):
    args = ["--source", example, "--entry-point", "hybrid_vqe.vqe:main", *extra]
    assert expected in refuse(workdir, capsys, *args)


def test_a_job_over_the_cap_is_refused_before_anything_is_uploaded(workdir, capsys, example, no_aws_credentials):
    (workdir / "outputs").mkdir()
    role = "arn:aws:iam::123456789012:role/service-role/AmazonBraketJobsExecutionRole-dev-JobsExecutionRole"
    (workdir / "outputs" / "dev.json").write_text(json.dumps({"dev": {"jobs_role_arn": role}}))
    line = refuse(workdir, capsys, "--source", example, "--entry-point", "hybrid_vqe.vqe:main", "--device", "sv1",
                  "--max-runtime-minutes", "120", "--max-cost", "0.50")
    # 2 h of ml.m5.large ($0.23) + the 26 tasks the example declares on SV1 ($0.325) > $0.50.
    assert line == ("error: estimated cost $0.555 exceeds --max-cost $0.50: ml.m5.large at $0.115/h for at most 120 min"
                    " + 26 tasks x max(3 s minimum, 10 s assumed) at $0.075/min; raise --max-cost, or use a shorter"
                    " --max-runtime-minutes, a smaller --instance-type or a cheaper device")
