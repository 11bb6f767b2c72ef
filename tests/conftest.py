"""Shared fixtures: every environment is synthesized once per test session.

Importing the AWS provider bindings is the expensive part of a cdktf run, so
stacks are built once here and the tests read the synthesized JSON.

`make test` runs the suite in parallel (pytest-xdist, ``-n``). A session is
then one per worker: each worker synthesizes once, and every path a test writes
is its own (``tmp_path``, ``tmp_path_factory``, servers on port 0). The hooks at
the end of this file hand the long tests out first and keep the tests of one
expensive session fixture on one worker.
"""

from __future__ import annotations

import json
import os

import pytest

from stacks import BOOTSTRAP_STACK, ENVIRONMENTS, add_stacks


def pytest_configure(config):
    """Before any test module is imported: ``quantum_constructs`` first (the lazy provider; no jsii
    Node 20 banner). The main process of a parallel run runs no test: it starts the one warm
    server (tests/jobs_zygote.py) that forks its workers and every `python -m jobs` they start
    instead, and no jsii kernel."""
    from tests.jobs_process import FRESH_VARIABLE, start_shared_server

    _take_ctrl_c_back()
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        if os.environ.get(FRESH_VARIABLE) != "1":
            # The workers too are forked from it: xdist starts each with this "python" (its --tx spec).
            config.option.tx = [f"popen//python={start_shared_server()}"] * len(config.option.tx)
    else:
        import quantum_constructs  # noqa: F401


def _take_ctrl_c_back() -> None:
    """Ctrl-C as a terminal delivers it, in this process and every process the tests start.

    A shell without job control starts a background command (``pytest &``, ``nohup``, most CI
    wrappers) with SIGINT ignored, every process it starts inherits that, and Python then never
    raises KeyboardInterrupt: the Ctrl-C tests would see `python -m jobs` finish instead of stop.
    A handler (unlike an ignored signal) is reset to the default by exec, so children start as
    from a terminal."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def app_stacks():
    """Every stack main.py synthesizes, in one app: the bootstrap and each environment's."""
    from quantum_constructs.cdk import Testing

    return add_stacks(Testing.app())


@pytest.fixture(scope="session")
def environment_stacks(app_stacks):
    return {name: stack for name, stack in app_stacks.items() if name != BOOTSTRAP_STACK}


@pytest.fixture(scope="session")
def synthesized_stacks(app_stacks) -> dict[str, str]:
    """Every stack's synthesized Terraform JSON, as text (what Testing.synth returns), the bootstrap's too."""
    from quantum_constructs.cdk import Testing

    return {name: Testing.synth(stack) for name, stack in app_stacks.items()}


@pytest.fixture(scope="session")
def synthesized(synthesized_stacks) -> dict[str, str]:
    """Each environment's synthesized Terraform JSON, as text."""
    return {name: text for name, text in synthesized_stacks.items() if name != BOOTSTRAP_STACK}


@pytest.fixture(scope="session")
def bootstrap_json(synthesized_stacks) -> dict:
    """The bootstrap stack's synthesized Terraform JSON."""
    return json.loads(synthesized_stacks[BOOTSTRAP_STACK])


@pytest.fixture(scope="session")
def stack_json(synthesized) -> dict[str, dict]:
    return {name: json.loads(text) for name, text in synthesized.items()}


@pytest.fixture(params=sorted(ENVIRONMENTS))
def env_name(request) -> str:
    return request.param


@pytest.fixture
def new_stack():
    """A fresh, empty stack with an AWS provider, for construct-level tests."""

    from quantum_constructs.cdk import App, TerraformStack
    from quantum_constructs.aws.provider import AwsProvider

    def make(name: str = "test") -> "TerraformStack":
        stack = TerraformStack(App(), name)
        AwsProvider(stack, "aws", region="us-east-1")
        return stack

    return make


@pytest.fixture(scope="session")
def project_root(tmp_path_factory, synthesized) -> "Path":
    """A directory laid out like the repository after `main.py`: cdktf.out/stacks/<env>/cdk.tf.json."""
    root = tmp_path_factory.mktemp("project")
    for env, text in synthesized.items():
        path = root / "cdktf.out" / "stacks" / env / "cdk.tf.json"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    return root


@pytest.fixture
def workdir(project_root, tmp_path, monkeypatch):
    """A fresh working directory with the synthesized stacks and no results yet; cwd while the test runs."""
    import shutil

    shutil.copytree(project_root / "cdktf.out", tmp_path / "cdktf.out")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def aws(monkeypatch):
    """Fresh moto S3 and Braket emulator on loopback, the SDK pointed at them, the dev stack's bucket created."""
    import urllib.request

    import boto3

    from tests.braket_emulator import BraketEmulator, moto_s3_server, point_sdk_at

    with moto_s3_server() as s3_url, BraketEmulator(s3_endpoint=s3_url, max_workers=16) as emulator:
        point_sdk_at(monkeypatch, emulator.url, s3_url)
        # moto keeps its state per process, across server instances: start every test empty.
        urllib.request.urlopen(urllib.request.Request(f"{s3_url}/moto-api/reset", method="POST")).close()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=DEV_BUCKET)
        yield AwsDoubles(emulator, s3)


DEV_BUCKET = "amazon-braket-quantum-cloud-results-dev"


@pytest.fixture
def no_aws_credentials(monkeypatch):
    """No AWS credentials anywhere boto3 looks, and no configured endpoint: nothing can reach AWS."""
    for name in [n for n in os.environ if n.startswith("AWS_") or n == "BRAKET_ENDPOINT"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    # On a cloud CI runner the instance metadata service would hand out real credentials.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class AwsDoubles:
    def __init__(self, emulator, s3) -> None:
        self.emulator, self.s3 = emulator, s3

    def keys(self, bucket: str = DEV_BUCKET) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(scope="session")
def main_synth(tmp_path_factory):
    """`python main.py` run once, as a user runs it: (completed process, output directory)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    outdir = tmp_path_factory.mktemp("main") / "cdktf.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # Credentials that would fail any AWS call: synthesis must not make one.
    env.update(CDKTF_OUTDIR=str(outdir), AWS_ACCESS_KEY_ID="invalid", AWS_SECRET_ACCESS_KEY="invalid")
    env.pop("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", None)
    repo = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "main.py"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return run, outdir


# -- scheduling under pytest-xdist ---------------------------------------------------------------
# Wall seconds of the long tests (measured on a 2-core machine). Under xdist they are
# handed out first, longest first, so they overlap with the many short tests instead of forming
# a tail. A scheduling hint only: a test missing here just starts later.
LONG_TESTS = {
    "tests/test_lazy_provider.py::test_output_is_identical_when_the_provider_was_imported_the_ordinary_way_first": 14,
    # Throttled with botocore's randomized exponential backoff: 3 to 13 s, mostly asleep.
    "tests/test_jobs_emulator.py::test_throttling_is_retried_and_no_task_is_created_twice": 10,
    "tests/test_jobs_properties.py::test_every_generated_command_line_ends_as_promised": 9,
    "tests/test_device_status.py::test_the_devices_command_waits_at_most_its_deadline_for_a_silent_endpoint": 3.2,
    "tests/test_jobs_demanding_user.py::test_sigint_while_waiting_on_queued_braket_tasks": 4,
    "tests/test_jobs_demanding_user.py::test_sigint_during_a_local_batch_stops_saves_and_resumes": 3,
    "tests/test_jobs_emulator.py::test_results_and_status_by_task_arn": 3,
    "tests/test_jobs_emulator.py::test_batch_of_50_with_progress_bar": 2.8,
    "tests/test_jobs_emulator.py::test_interrupted_batch_is_resumed_without_duplicates": 2.6,
    "tests/test_braket_emulator.py::test_throttled_create_is_retried_and_creates_one_task": 2.2,
    "tests/test_jobs_emulator.py::test_a_missing_results_object_is_a_service_error": 2.2,
    "tests/test_braket_emulator.py::test_cli_serves_get_device_and_control_endpoints": 2,
    "tests/test_braket_emulator.py::test_search_quantum_tasks_and_devices": 1.5,
    "tests/test_device_status.py::test_a_silent_endpoint_through_aws_endpoint_url_braket": 1.5,
    "tests/test_jobs_demanding_user.py::test_a_closed_pipe_is_no_traceback": 1.5,
    "tests/test_braket_emulator_results.py::test_a_thousand_layers[DM1]": 3.5,
    "tests/test_braket_emulator_results.py::test_batch_and_multithreaded_submission[DM1]": 2.5,
    "tests/test_braket_emulator_results.py::test_batch_and_multithreaded_submission[SV1]": 2.5,
    "tests/test_braket_emulator_results.py::test_a_thousand_layers[SV1]": 1.7,
    "tests/test_braket_emulator_catalog.py::test_a_regional_device_answers_only_in_its_region": 1.4,
    # Hybrid jobs: each job starts a Python that imports the Braket SDK (about 2.3 s of CPU).
    "tests/test_jobs_hybrid_emulator.py::test_a_client_killed_mid_run_is_found_again_and_never_creates_the_job_twice": 6,
    "tests/test_jobs_hybrid_emulator.py::test_the_example_on_sv1_runs_as_the_stack_roles_and_stays_in_the_stack_bucket": 6,
    "tests/test_jobs_hybrid.py::test_ctrl_c_stops_a_local_job_and_resume_continues_from_its_checkpoint": 6,
    "tests/test_jobs_hybrid.py::test_the_example_runs_offline_by_default": 5,
    "tests/test_jobs_hybrid.py::test_the_job_sees_what_braket_sets_and_typed_hyperparameters": 4,
    "tests/test_braket_emulator_jobs.py::test_a_job_runs_a_circuit_on_sv1_and_its_saved_result_comes_back": 3,
    "tests/test_braket_emulator_jobs.py::test_a_jobs_tasks_are_decided_by_the_role_it_was_passed": 3,
    "tests/test_jobs_hybrid_emulator.py::test_only_the_stack_jobs_role_may_be_passed": 2.5,
    "tests/test_jobs_hybrid_emulator.py::test_cancel_a_running_job": 2.5,
    "tests/test_jobs_hybrid.py::test_a_bare_module_runs_as_main": 2.5,
    "tests/test_jobs_hybrid.py::test_a_failing_job_says_why": 2.5,
    # Every AWS flow of `python -m jobs` in-process, a hybrid job among them (its Python imports the SDK).
    "tests/test_reachability.py::test_every_call_jobs_makes_is_listed_and_every_listed_jobs_call_is_made": 6,
    # 200 generated programs, each run twice on the local simulator.
    "tests/test_gateway_anonymize.py::test_generated_programs_leak_nothing_and_run_the_same": 27,
}
# Session fixtures too expensive to build on every worker. The tests that use one (by node id
# prefix: the scheduler sees only node ids) are one unit of work, run by a single worker.
# Fixture -> (node id prefixes, wall seconds of the whole unit).
SHARED_SESSION_FIXTURES = {
    # Builds the wheel, installs it into a venv and synthesizes the consumer apps.
    "consumer_env": (("tests/consumers/",), 5),
    # `python main.py` in a subprocess; test_security runs checkov on its output.
    "main_synth": (("tests/test_main.py::", "tests/test_security.py::",
                    "tests/test_stack_outputs.py::test_real_synthesized_dev_stack",
                    "tests/test_lazy_provider.py::test_npx_cdktf_synth"), 8),
    # A PostgreSQL server (initdb, pg_ctl start) for the gateway's store tests.
    "postgresql_server": (("tests/test_gateway_postgres.py::", "tests/test_gateway_store.py::",
                           "tests/test_gateway_shipping.py::"), 12),
}


def shared_unit(nodeid: str) -> str | None:
    """The session fixture whose tests ``nodeid`` is scheduled with, if any."""
    for fixture, (prefixes, _) in SHARED_SESSION_FIXTURES.items():
        if nodeid.startswith(prefixes):
            return fixture
    return None


def pytest_collection_finish(session):
    """What collection loaded (the SDK, matplotlib, the bindings: a million objects) stays for the
    whole session: out of the garbage collector's sight, its full passes no longer walk it."""
    import gc

    gc.collect()
    gc.freeze()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, (prefixes, _) in SHARED_SESSION_FIXTURES.items():
            if fixture in item.fixturenames and shared_unit(item.nodeid) != fixture:
                item.warn(pytest.PytestWarning(
                    f"uses {fixture} but is not under {prefixes} in tests/conftest.py's SHARED_SESSION_FIXTURES:"
                    f" under xdist another worker builds {fixture} again for it"))
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the order the scheduler hands tests out in

        def weight(item) -> float:
            unit = shared_unit(item.nodeid)
            return SHARED_SESSION_FIXTURES[unit][1] if unit else LONG_TESTS.get(item.nodeid, 0)

        items.sort(key=lambda item: -weight(item))  # stable: the rest keep the file order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``-n N`` (``--dist load``): one test at a time to whichever worker is free, in the
    collection's order (long tests first, above), except that the tests of one shared session
    fixture go together to one worker.

    xdist's own ``--dist loadgroup`` would do the grouping with ``xdist_group`` marks, but under
    pytest 9.2 it silently stops grouping (pytest-dev/pytest-xdist#1386: the node id suffix it
    relies on is no longer applied).
    """
    if config.getvalue("dist") != "load":
        return None  # any other --dist: xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return shared_unit(nodeid) or nodeid  # a unit per test, but for the shared fixtures

    config.option.loadscopereorder = False  # keep the collection's order, not biggest unit first
    return SharedFixtureScheduling(config, log)
