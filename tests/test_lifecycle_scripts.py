"""Tests for the notebook lifecycle scripts in constructs/quantum_constructs/scripts."""
import base64
import importlib.util
import json
import re
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "constructs" / "quantum_constructs" / "scripts"
ON_CREATE = SCRIPTS / "on_create.sh"
ON_START = SCRIPTS / "on_start.sh"
AUTOSTOP = SCRIPTS / "autostop.py"

NOW = "2026-11-24T12:00:00Z"
TWO_HOURS_AGO = "2026-11-24T10:00:00.000000Z"
FIVE_MINUTES_AGO = "2026-11-24T11:55:00.000000Z"
NOTEBOOK = "braket-dev-notebook"
REGION = "eu-west-2"
PLACEHOLDER = re.compile(r"__[A-Z0-9_]+__")
# Left in the config JSON by the construct and filled in by on_start.sh on the instance.
RUNTIME_REGION = "__RUNTIME_REGION__"


def bash_syntax_ok(text):
    return subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)


# --- static checks -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [ON_CREATE, ON_START, AUTOSTOP], ids=lambda p: p.name)
def test_script_exists_and_has_no_terraform_interpolation(path):
    text = path.read_text()
    assert "${" not in text and "%{" not in text, f"{path.name} would be interpolated by Terraform"


@pytest.mark.parametrize(
    "path, placeholders",
    [
        (ON_CREATE, {"__BRAKET_SDK_VERSION__"}),
        (ON_START, {"__QUANTUM_CONFIG_JSON__", "__IDLE_STOP_MINUTES__", "__AUTOSTOP_PY_BASE64__", RUNTIME_REGION}),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else "",
)
def test_shell_template_syntax_and_placeholders(path, placeholders):
    text = path.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    assert set(PLACEHOLDER.findall(text)) == placeholders
    result = bash_syntax_ok(text)
    assert result.returncode == 0, result.stderr


def test_on_start_config_json_is_in_a_quoted_heredoc():
    # Quoted delimiter: nothing in the JSON ($, backticks) is expanded by bash.
    assert re.search(r"<<'JSON'[^\n]*\n__QUANTUM_CONFIG_JSON__\nJSON\n", ON_START.read_text())


def render(path, values):
    text = path.read_text()
    for key, value in values.items():
        text = text.replace(key, value)
    return text


CONFIG = {
    "results_bucket_name": "quantum-results-123456789012",
    "results_prefix": "experiments/",
    "region": RUNTIME_REGION,
    "allowed_devices": ["arn:aws:braket:::device/quantum-simulator/amazon/sv1"],
    "note": "$HOME `id` 'quoted'",
}


def render_on_start(minutes):
    return render(
        ON_START,
        {
            "__QUANTUM_CONFIG_JSON__": json.dumps(CONFIG),
            "__IDLE_STOP_MINUTES__": minutes,
            "__AUTOSTOP_PY_BASE64__": base64.b64encode(AUTOSTOP.read_bytes()).decode("ascii"),
        },
    )


@pytest.mark.parametrize("minutes", ["0", "60"])
def test_rendered_on_start_has_no_placeholders_and_parses(minutes):
    rendered = render_on_start(minutes)
    assert set(PLACEHOLDER.findall(rendered)) == {RUNTIME_REGION}
    result = bash_syntax_ok(rendered)
    assert result.returncode == 0, result.stderr


FAKE_SUDO = """#!/bin/bash
# Drops sudo's options and runs the command as the current user.
while true; do
  case "$1" in -u) shift 2 ;; -*) shift ;; *) break ;; esac
done
exec "$@"
"""


def test_rendered_on_start_runs_with_redirected_paths(tmp_path, metadata_file):
    """Run on_start.sh as the current user with root and ec2-user paths moved under tmp_path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sudo").write_text(FAKE_SUDO)
    (bin_dir / "sudo").chmod(0o755)
    for part in ("home", "usr-local-bin", "cron.d", "log"):
        (tmp_path / part).mkdir()
    moves = {"/home/ec2-user": "home", "/usr/local/bin": "usr-local-bin", "/etc/cron.d": "cron.d",
             "/var/log": "log"}

    def run(minutes):
        script = render_on_start(minutes).replace("/opt/ml/metadata/resource-metadata.json", str(metadata_file))
        for real, fake in moves.items():
            script = script.replace(real, str(tmp_path / fake))
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
        return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30)

    result = run("45")
    assert result.returncode == 0, result.stderr
    outputs = tmp_path / "home" / "SageMaker" / ".quantum" / "stack-outputs.json"
    assert json.loads(outputs.read_text()) == {**CONFIG, "region": REGION}
    assert outputs.stat().st_mode & 0o777 == 0o644
    installed = tmp_path / "usr-local-bin" / "quantum-autostop.py"
    assert installed.read_bytes() == AUTOSTOP.read_bytes()
    assert installed.stat().st_mode & 0o777 == 0o755
    cron = (tmp_path / "cron.d" / "quantum-autostop").read_text()
    assert f"*/5 * * * * root /usr/bin/python3 {installed} --idle-minutes 45 >>" in cron

    result = run("0")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "cron.d" / "quantum-autostop").exists()

    result = run("soon")
    assert result.returncode == 1
    assert "non-negative integer" in result.stderr


def test_rendered_on_create_has_no_placeholders_and_parses():
    rendered = render(ON_CREATE, {"__BRAKET_SDK_VERSION__": "1.127.5"})
    assert not PLACEHOLDER.search(rendered)
    assert 'BRAKET_SDK="amazon-braket-sdk==1.127.5"' in rendered
    result = bash_syntax_ok(rendered)
    assert result.returncode == 0, result.stderr


# --- autostop.py against a fake Jupyter server ---------------------------------------------------


class FakeJupyter(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.responses.get(urlsplit(self.path).path)
        if body is None:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def jupyter():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJupyter)
    server.responses = {}
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def metadata_file(tmp_path):
    path = tmp_path / "resource-metadata.json"
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:notebook-instance/{NOTEBOOK}"
    path.write_text(json.dumps({"ResourceName": NOTEBOOK, "ResourceArn": arn}))
    return path


@pytest.fixture
def stop_command(tmp_path):
    """An executable that records its arguments, standing in for `aws sagemaker stop-notebook-instance`."""
    record = tmp_path / "stop-argv.json"
    script = tmp_path / "fake-stop"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    script.chmod(0o755)
    return script, record


def session(state, last_activity):
    return {"id": "s1", "path": "demo.ipynb", "kernel": {"id": "k1", "name": "python3",
            "execution_state": state, "last_activity": last_activity}}


def run_autostop(jupyter, metadata_file, *extra):
    return subprocess.run(
        [sys.executable, str(AUTOSTOP), "--idle-minutes", "60", "--jupyter-url", jupyter.url,
         "--metadata-file", str(metadata_file), "--now", NOW, *extra],
        capture_output=True, text=True, timeout=30,
    )


OLD_SERVER = {"started": "2026-11-24T08:00:00.000000Z", "last_activity": TWO_HOURS_AGO}

CASES = {
    "idle kernel": ([session("idle", TWO_HOURS_AGO)], OLD_SERVER, True),
    "busy kernel": ([session("busy", TWO_HOURS_AGO)], OLD_SERVER, False),
    "recent activity": ([session("idle", FIVE_MINUTES_AGO)], OLD_SERVER, False),
    "one of two kernels recent": (
        [session("idle", TWO_HOURS_AGO), session("idle", FIVE_MINUTES_AGO)], OLD_SERVER, False),
    "no sessions, old server": ([], OLD_SERVER, True),
    "no sessions, recent server activity": ([], {**OLD_SERVER, "last_activity": FIVE_MINUTES_AGO}, False),
    "no sessions, server just started": (
        [], {"started": "2026-11-24T11:30:00Z", "last_activity": TWO_HOURS_AGO}, False),
}


@pytest.mark.parametrize("case", CASES)
def test_autostop_dry_run_decision(case, jupyter, metadata_file):
    sessions, status, should_stop = CASES[case]
    jupyter.responses = {"/api/sessions": sessions, "/api/status": status}

    result = run_autostop(jupyter, metadata_file, "--dry-run")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    assert NOTEBOOK in lines[0]
    assert ("would stop" in lines[0]) is should_stop, lines[0]
    assert all("no_track_activity=1" in path for path in jupyter.requests)


@pytest.mark.parametrize("case, should_stop", [("idle kernel", True), ("no sessions, old server", True),
                                               ("busy kernel", False), ("recent activity", False)])
def test_autostop_invokes_stop_command_only_when_idle(case, should_stop, jupyter, metadata_file, stop_command):
    sessions, status, _ = CASES[case]
    jupyter.responses = {"/api/sessions": sessions, "/api/status": status}
    script, record = stop_command

    result = run_autostop(jupyter, metadata_file, "--stop-command", str(script))

    assert result.returncode == 0, result.stderr
    if should_stop:
        assert f"stopping notebook instance {NOTEBOOK} in {REGION}" in result.stdout
        assert json.loads(record.read_text()) == ["--notebook-instance-name", NOTEBOOK, "--region", REGION]
    else:
        assert "not stopping" in result.stdout
        assert not record.exists()


def test_autostop_reports_failed_stop(jupyter, metadata_file, tmp_path):
    jupyter.responses = {"/api/sessions": CASES["idle kernel"][0]}
    failing = tmp_path / "failing-stop"
    failing.write_text("#!/bin/sh\nexit 3\n")
    failing.chmod(0o755)

    result = run_autostop(jupyter, metadata_file, "--stop-command", str(failing))

    assert result.returncode == 1
    assert "failed to stop" in result.stderr


def test_autostop_keeps_running_when_jupyter_unreachable(jupyter, metadata_file):
    jupyter.responses = {}  # every endpoint 404s

    result = run_autostop(jupyter, metadata_file, "--dry-run")

    assert result.returncode == 1
    assert "keeping instance running" in result.stderr
    assert "would stop" not in result.stdout


@pytest.mark.parametrize("args", [[], ["--idle-minutes", "0"], ["--idle-minutes", "ten"],
                                  ["--idle-minutes", "5", "--now", "yesterday"]])
def test_autostop_bad_arguments_exit_2_with_one_line(args):
    result = subprocess.run([sys.executable, str(AUTOSTOP), *args], capture_output=True, text=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "error" in result.stderr


# --- autostop.py functions -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def autostop():
    spec = importlib.util.spec_from_file_location("autostop", AUTOSTOP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stop_instance_builds_aws_cli_call(autostop):
    calls = []
    autostop.stop_instance(NOTEBOOK, REGION, runner=calls.append)
    assert calls == [["aws", "sagemaker", "stop-notebook-instance",
                      "--notebook-instance-name", NOTEBOOK, "--region", REGION]]


def test_is_idle_boundary_and_timestamp_formats(autostop):
    now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    exactly_60 = [session("idle", "2026-11-24T11:00:00Z")]
    assert autostop.is_idle(exactly_60, None, now, 60)[0] is True
    just_inside = [session("idle", "2026-11-24T11:00:00.123+00:00")]
    assert autostop.is_idle(just_inside, None, now, 60)[0] is False
    no_activity = [{"kernel": {"name": "python3", "execution_state": "idle"}}]
    assert autostop.is_idle(no_activity, None, now, 60)[0] is False
