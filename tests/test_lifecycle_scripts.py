"""Tests for the notebook lifecycle scripts in constructs/quantum_constructs/scripts."""
import base64
import configparser
import gzip
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
import time
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
RUNTIME_ACCOUNT = "__RUNTIME_ACCOUNT__"
RUNTIME_PARTITION = "__RUNTIME_PARTITION__"
RUNTIME = {RUNTIME_REGION, RUNTIME_ACCOUNT, RUNTIME_PARTITION}
ACCOUNT = "123456789012"
JOBS_ROLE_NAME = "AmazonBraketJobsExecutionRole-dev-JobsExecutionRole"


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
        (ON_CREATE, {"__BRAKET_SDK_VERSION__", "__PIP_INDEX_URL__", "__CODEARTIFACT_DOMAIN__",
                     "__CODEARTIFACT_REPOSITORY__"}),
        (ON_START, {"__QUANTUM_CONFIG_JSON__", "__IDLE_STOP_MINUTES__", "__AUTOSTOP_PY_GZIP_BASE64__", *RUNTIME}),
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
    "jobs_prefix": "jobs",
    "jobs_role_arn": f"arn:{RUNTIME_PARTITION}:iam::{RUNTIME_ACCOUNT}:role/service-role/{JOBS_ROLE_NAME}",
    "note": "$HOME `id` 'quoted'",
}
# What on_start.sh writes for CONFIG on the sandbox's instance (its metadata ARN: partition aws, REGION, ACCOUNT).
WRITTEN = {
    **CONFIG,
    "region": REGION,
    "jobs_role_arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/{JOBS_ROLE_NAME}",
}


def autostop_payload():
    # As quantum_constructs.notebook embeds it: gzip without a timestamp (byte-stable synth), then base64.
    return base64.b64encode(gzip.compress(AUTOSTOP.read_bytes(), mtime=0)).decode("ascii")


def fill_on_start(text, minutes, payload=None):
    return (
        text.replace("__QUANTUM_CONFIG_JSON__", json.dumps(CONFIG))
        .replace("__IDLE_STOP_MINUTES__", minutes)
        .replace("__AUTOSTOP_PY_GZIP_BASE64__", autostop_payload() if payload is None else payload)
    )


def render_on_start(minutes):
    return fill_on_start(ON_START.read_text(), minutes)


@pytest.mark.parametrize("minutes", ["0", "60"])
def test_rendered_on_start_has_no_placeholders_and_parses(minutes):
    rendered = render_on_start(minutes)
    assert set(PLACEHOLDER.findall(rendered)) == RUNTIME
    result = bash_syntax_ok(rendered)
    assert result.returncode == 0, result.stderr


def test_rendered_on_start_fits_sagemaker_limit():
    # SageMaker takes at most 16384 base64 characters per lifecycle script; leave room for a few devices.
    assert len(base64.b64encode(render_on_start("60").encode())) <= 16384 - 1000


# --- on_start.sh in a sandbox ----------------------------------------------------------------------

FAKE_SUDO = """#!/bin/bash
# Drops sudo's options and runs the command as the current user.
while true; do
  case "$1" in -u) shift 2 ;; -*) shift ;; *) break ;; esac
done
exec "$@"
"""

# Every path on_start.sh writes, reads or probes, and where it lives under the sandbox root.
SANDBOX_PATHS = {
    "/home/ec2-user": "home/ec2-user",
    "/usr/local/bin/quantum-autostop.py": "usr/local/bin/quantum-autostop.py",
    "/var/log": "var/log",
    "/etc/systemd/system": "etc/systemd/system",
    "/etc/cron.d": "etc/cron.d",
    "/run/systemd/system": "run/systemd/system",
    "/usr/sbin/crond": "usr/sbin/crond",
    "/opt/ml/metadata": "opt/ml/metadata",
}
# Real absolute paths the sandboxed script may still name: run (bash, python3), /dev/null, or the cron PATH line.
REAL_PATHS_ALLOWED = {"/bin/bash", "/usr/bin/python3", "/dev/null", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                      "/usr/bin", "/sbin", "/bin"}
ABSOLUTE_PATH = re.compile(r"(?<![\w.$*/-])/[\w.-]+(?:/[\w.-]+)*")
# What the real script would write; none of it may change while a sandbox runs (the tests may run as root).
REAL_TARGETS = [Path(p) for p in (
    "/etc/systemd/system/quantum-autostop.service", "/etc/systemd/system/quantum-autostop.timer",
    "/etc/systemd/system/timers.target.wants/quantum-autostop.timer", "/etc/cron.d/quantum-autostop",
    "/usr/local/bin/quantum-autostop.py", "/usr/local/bin/quantum-autostop.py.tmp", "/var/log/quantum-autostop.log",
    "/home/ec2-user/SageMaker/.quantum/stack-outputs.json",
)]
# The only programs on the sandbox's PATH besides the fakes: no systemctl, crond or cron.
TOOLS = ("bash", "base64", "gunzip", "gzip", "cat", "chmod", "mkdir", "mv", "rm", "sed", "timeout")


def executable(path, text):
    path.write_text(text)
    path.chmod(0o755)


def real_targets_state():
    return {str(p): (p.stat().st_mtime_ns if p.exists() else None) for p in REAL_TARGETS}


def parse_unit(path):
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return {section: dict(parser[section]) for section in parser.sections()}


class Sandbox:
    """on_start.sh as the current user: every root path moved under `root`, fakes and a few tools on PATH."""

    def __init__(self, base, *, systemd=False, cron=False, systemctl_exit=0):
        self.root, self.bin, self.tools = base / "root", base / "fake-bin", base / "tools"
        self.record = base / "systemctl-calls"
        for part in ("home/ec2-user", "usr/local/bin", "var/log", "opt/ml/metadata", "etc"):
            (self.root / part).mkdir(parents=True)
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{NOTEBOOK}"
        metadata = {"ResourceName": NOTEBOOK, "ResourceArn": arn}
        (self.root / "opt/ml/metadata/resource-metadata.json").write_text(json.dumps(metadata))
        self.bin.mkdir()
        self.tools.mkdir()
        executable(self.bin / "sudo", FAKE_SUDO)
        for tool in TOOLS:
            (self.tools / tool).symlink_to(shutil.which(tool))
        if systemd:
            (self.root / "run/systemd/system").mkdir(parents=True)
            (self.root / "etc/systemd/system").mkdir(parents=True)
            self.set_systemctl_exit(systemctl_exit)
        if cron:
            (self.root / "etc/cron.d").mkdir(parents=True)
            executable(self.bin / "crond", "#!/bin/sh\nexit 0\n")
        self.path = f"{self.bin}:{self.tools}"
        assert shutil.which("systemctl", path=self.path) in (None, str(self.bin / "systemctl"))
        assert not any(shutil.which(name, path=str(self.tools)) for name in ("systemctl", "crond", "cron"))

        self.checker = self.root / "usr/local/bin/quantum-autostop.py"
        self.log = self.root / "var/log/quantum-autostop.log"
        self.service = self.root / "etc/systemd/system/quantum-autostop.service"
        self.timer = self.root / "etc/systemd/system/quantum-autostop.timer"
        self.cron_file = self.root / "etc/cron.d/quantum-autostop"
        self.outputs = self.root / "home/ec2-user/SageMaker/.quantum/stack-outputs.json"

    def set_systemctl_exit(self, status):
        # Records each call's arguments, one line per call.
        executable(self.bin / "systemctl", f'#!/bin/bash\nprintf "%s\\n" "$*" >>{self.record}\nexit {status}\n')

    def script(self, minutes, payload=None, template=None):
        template = ON_START.read_text() if template is None else template
        assert all(real in template for real in SANDBOX_PATHS), "SANDBOX_PATHS names a path on_start.sh lost"
        moves = re.compile("|".join(re.escape(real) for real in sorted(SANDBOX_PATHS, key=len, reverse=True)))
        moved = moves.sub(lambda m: str(self.root / SANDBOX_PATHS[m.group(0)]), template)
        # Checked before the payloads go in: base64 text may contain anything that looks like a path.
        real = {p for p in ABSOLUTE_PATH.findall(moved) if not p.startswith(f"{self.root}/")}
        assert real <= REAL_PATHS_ALLOWED, f"on_start.sh would touch the real {sorted(real - REAL_PATHS_ALLOWED)}"
        return fill_on_start(moved, minutes, payload)

    def run(self, minutes, payload=None):
        before = real_targets_state()
        env = {"PATH": self.path, "HOME": str(self.root / "home/ec2-user"), "LC_ALL": "C"}
        result = subprocess.run([shutil.which("bash"), "-c", self.script(minutes, payload)], env=env,
                                capture_output=True, text=True, timeout=30)
        assert real_targets_state() == before, "the sandboxed on_start.sh changed the real system"
        return result

    def systemctl_calls(self):
        """The calls since the last look."""
        if not self.record.exists():
            return []
        calls = self.record.read_text().splitlines()
        self.record.unlink()
        return calls

    def files(self):
        return {str(p.relative_to(self.root)): (p.stat().st_mode, p.read_bytes())
                for p in sorted(self.root.rglob("*")) if p.is_file()}


@pytest.fixture
def sandbox(tmp_path):
    boxes = []

    def make(**options):
        boxes.append(Sandbox(tmp_path / f"box{len(boxes)}", **options))
        return boxes[-1]

    return make


def assert_started(result):
    assert result.returncode == 0, result.stderr
    assert "on_start: wrote " in result.stdout


def test_sandbox_refuses_a_script_that_names_other_real_paths(sandbox):
    box = sandbox(systemd=True, cron=True)
    assert str(box.root / "etc/systemd/system/quantum-autostop.timer") in box.script("45")
    for leak in ("/etc/passwd", "/run/systemd/private", "/usr/local/bin/other", "/root/.profile"):
        with pytest.raises(AssertionError, match=re.escape(leak)):
            box.script("45", template=ON_START.read_text() + f"echo x >{leak}\n")


def test_on_start_writes_stack_outputs_and_rejects_bad_minutes(sandbox):
    box = sandbox(systemd=True)
    assert_started(box.run("45"))
    assert json.loads(box.outputs.read_text()) == WRITTEN
    assert box.outputs.stat().st_mode & 0o777 == 0o644

    result = box.run("soon")
    assert result.returncode == 1
    assert "non-negative integer" in result.stderr


@pytest.mark.parametrize(
    "arn",
    [f"arn:aws:sagemaker:{REGION}::notebook-instance/{NOTEBOOK}", "not an arn", f"arn:a/ws:sagemaker:{REGION}:{ACCOUNT}:x/y"],
)
def test_on_start_refuses_an_instance_arn_without_partition_region_and_account(sandbox, arn):
    box = sandbox(systemd=True)
    (box.root / "opt/ml/metadata/resource-metadata.json").write_text(json.dumps({"ResourceArn": arn}))
    result = box.run("45")
    assert result.returncode == 1
    assert "no partition, region and account in the ResourceArn" in result.stderr
    assert not box.outputs.exists()  # never a stack-outputs file with an empty account in an ARN


def expected_service(box, minutes):
    return {
        "Unit": {"Description": f"Stop this notebook instance after {minutes} idle minutes"},
        "Service": {
            "Type": "oneshot",
            "ExecStart": f"/usr/bin/python3 {box.checker} --idle-minutes {minutes}",
            "StandardOutput": f"append:{box.log}",
            "StandardError": f"append:{box.log}",
        },
    }


EXPECTED_TIMER = {
    "Unit": {"Description": "Check every 5 minutes whether this notebook instance is idle"},
    "Timer": {"OnBootSec": "5min", "OnUnitActiveSec": "5min"},
    "Install": {"WantedBy": "timers.target"},
}
# enable + start rather than enable --now, which systemd 219 (AL2) lacks.
ENABLE = ["daemon-reload", "enable quantum-autostop.timer", "start --no-block quantum-autostop.timer"]


def test_on_start_with_systemd_installs_a_timer(sandbox):
    box = sandbox(systemd=True)

    result = box.run("45")

    assert_started(result)
    assert box.checker.read_bytes() == AUTOSTOP.read_bytes()
    assert box.checker.stat().st_mode & 0o777 == 0o755
    assert parse_unit(box.service) == expected_service(box, 45)
    assert parse_unit(box.timer) == EXPECTED_TIMER
    assert {p.stat().st_mode & 0o777 for p in (box.service, box.timer)} == {0o644}
    assert box.systemctl_calls() == ENABLE
    assert not box.cron_file.exists()
    assert f"auto-stop after 45 idle minutes, log: {box.log}, via systemd quantum-autostop.timer" in result.stdout
    assert result.stderr == ""


def test_on_start_prefers_systemd_and_drops_an_old_cron_file(sandbox):
    box = sandbox(systemd=True, cron=True)
    box.cron_file.write_text("*/5 * * * * root /usr/bin/python3 old\n")

    result = box.run("30")

    assert_started(result)
    assert parse_unit(box.service) == expected_service(box, 30)
    assert box.systemctl_calls() == ENABLE
    assert not box.cron_file.exists()


def test_systemd_analyze_verifies_the_units(sandbox):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the unit files are checked by parse_unit only")
    box = sandbox(systemd=True)
    assert_started(box.run("45"))

    # verify reports unknown keys and bad values as warnings with exit 0, so its output must not name our units.
    result = subprocess.run([analyze, "verify", "--man=no", str(box.timer), str(box.service)],
                            capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr
    assert str(box.root) not in result.stdout + result.stderr, result.stdout + result.stderr


def test_on_start_with_cron_only_writes_the_cron_file(sandbox):
    box = sandbox(cron=True)

    result = box.run("45")

    assert_started(result)
    assert box.checker.read_bytes() == AUTOSTOP.read_bytes()
    assert box.cron_file.read_text() == (
        "# Managed by the notebook on-start script: stop this instance after 45 idle minutes.\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        f"*/5 * * * * root /usr/bin/python3 {box.checker} --idle-minutes 45 >>{box.log} 2>&1\n"
    )
    assert box.cron_file.stat().st_mode & 0o777 == 0o644
    assert not (box.root / "etc/systemd").exists()
    assert box.systemctl_calls() == []
    assert "via cron" in result.stdout
    assert result.stderr == ""


def test_on_start_without_systemd_or_cron_starts_and_says_so(sandbox):
    box = sandbox()
    box.set_systemctl_exit(0)  # systemctl alone, without /run/systemd/system, is not systemd

    result = box.run("45")

    assert_started(result)
    assert "on_start: auto-stop not scheduled: neither systemd nor cron found" in result.stderr
    assert set(box.files()) == {"opt/ml/metadata/resource-metadata.json",
                                "home/ec2-user/SageMaker/.quantum/stack-outputs.json"}
    assert box.systemctl_calls() == []


def test_on_start_starts_when_systemctl_fails(sandbox):
    box = sandbox(systemd=True, systemctl_exit=1)

    result = box.run("45")

    assert_started(result)
    assert "on_start: auto-stop setup failed (exit 1)" in result.stderr
    # -e holds inside the auto-stop part: nothing runs after the failed daemon-reload.
    assert box.systemctl_calls() == ["daemon-reload"]
    assert "auto-stop after" not in result.stdout
    assert json.loads(box.outputs.read_text())["region"] == REGION


def test_on_start_starts_when_the_unit_directory_is_missing(sandbox):
    box = sandbox(systemd=True)
    (box.root / "etc/systemd/system").rmdir()

    result = box.run("45")

    assert_started(result)
    assert "on_start: auto-stop setup failed" in result.stderr
    assert box.systemctl_calls() == []


def test_on_start_starts_when_the_checker_payload_is_corrupt(sandbox):
    box = sandbox(systemd=True)

    result = box.run("45", payload="not base64 at all!")

    assert_started(result)
    assert "on_start: auto-stop setup failed" in result.stderr
    assert not box.checker.exists()
    assert not box.checker.with_name(box.checker.name + ".tmp").exists()
    assert not box.service.exists()
    assert box.systemctl_calls() == []


def test_zero_minutes_removes_the_systemd_timer(sandbox):
    box = sandbox(systemd=True)
    box.cron_file.parent.mkdir()
    assert_started(box.run("45"))
    box.systemctl_calls()
    box.cron_file.write_text("left by an older on_start\n")

    result = box.run("0")

    assert_started(result)
    assert "on_start: auto-stop disabled" in result.stdout
    assert box.systemctl_calls() == ["stop quantum-autostop.timer", "disable quantum-autostop.timer", "daemon-reload"]
    assert not box.service.exists() and not box.timer.exists() and not box.cron_file.exists()

    # Already disabled: nothing to ask systemd.
    assert_started(box.run("0"))
    assert box.systemctl_calls() == []


def test_zero_minutes_ignores_a_failing_systemctl(sandbox):
    box = sandbox(systemd=True)
    assert_started(box.run("45"))
    box.set_systemctl_exit(1)

    result = box.run("0")

    assert_started(result)
    assert "failed" not in result.stderr
    assert not box.service.exists() and not box.timer.exists()


def test_zero_minutes_removes_the_cron_file(sandbox):
    box = sandbox(cron=True)
    assert_started(box.run("45"))
    assert box.cron_file.exists()

    result = box.run("0")

    assert_started(result)
    assert not box.cron_file.exists()
    assert "on_start: auto-stop disabled" in result.stdout


@pytest.mark.parametrize("machine", [{"systemd": True}, {"cron": True}, {}], ids=["systemd", "cron", "neither"])
def test_on_start_twice_gives_the_same_result(sandbox, machine):
    box = sandbox(**machine)
    first = box.run("45")
    first_calls, first_files = box.systemctl_calls(), box.files()

    second = box.run("45")

    assert_started(second)
    assert (second.stdout, second.stderr) == (first.stdout, first.stderr)
    assert box.systemctl_calls() == first_calls
    assert box.files() == first_files


def test_changed_minutes_rewrite_the_service(sandbox):
    box = sandbox(systemd=True)
    assert_started(box.run("45"))
    assert_started(box.run("90"))
    assert parse_unit(box.service) == expected_service(box, 90)


ON_CREATE_EMPTY = {"__BRAKET_SDK_VERSION__": "", "__PIP_INDEX_URL__": "", "__CODEARTIFACT_DOMAIN__": "",
                   "__CODEARTIFACT_REPOSITORY__": ""}


@pytest.mark.parametrize(
    "values",
    [
        {"__BRAKET_SDK_VERSION__": "1.127.5"},
        {"__BRAKET_SDK_VERSION__": "1.127.5", "__PIP_INDEX_URL__": "https://pypi.internal.example/simple"},
        {"__BRAKET_SDK_VERSION__": "1.127.5", "__CODEARTIFACT_DOMAIN__": "quantum-packages",
         "__CODEARTIFACT_REPOSITORY__": "pypi"},
    ],
    ids=["pypi", "index-url", "codeartifact"],
)
def test_rendered_on_create_has_no_placeholders_and_parses(values):
    rendered = render(ON_CREATE, {**ON_CREATE_EMPTY, **values})
    assert not PLACEHOLDER.search(rendered)
    assert 'BRAKET_SDK_VERSION="1.127.5"' in rendered
    result = bash_syntax_ok(rendered)
    assert result.returncode == 0, result.stderr


def test_rendered_on_create_fits_sagemaker_limit_with_the_longest_names():
    # SageMaker takes at most 16384 base64 characters per lifecycle script (CodeArtifact's longest names:
    # a 50-character domain, a 100-character repository).
    rendered = render(ON_CREATE, {**ON_CREATE_EMPTY, "__BRAKET_SDK_VERSION__": "1.127.5",
                                  "__CODEARTIFACT_DOMAIN__": "d" * 50, "__CODEARTIFACT_REPOSITORY__": "r" * 100})
    assert len(base64.b64encode(rendered.encode())) <= 16384 - 4000


# CodeArtifact's answers as the aws CLI prints them with --output text (a token is base64url with dots).
TOKEN = "eyJ2ZXIiOjEsImlzdSI6MTcwMH0.Q0FUT0tFTi1mYWtl_x-9"
DOMAIN, REPOSITORY = "quantum-packages", "pypi"
ENDPOINT = f"https://{DOMAIN}-{ACCOUNT}.d.codeartifact.{REGION}.amazonaws.com/pypi/{REPOSITORY}/"
# CodeArtifact User Guide, "Configure and use pip with CodeArtifact" (pip without the login command):
# https://aws:$CODEARTIFACT_AUTH_TOKEN@my_domain-111122223333.d.codeartifact.region.amazonaws.com/pypi/my_repo/simple/
MIRROR_INDEX = f"https://aws:{TOKEN}@{DOMAIN}-{ACCOUNT}.d.codeartifact.{REGION}.amazonaws.com/pypi/{REPOSITORY}/simple/"


def fake_aws(token_exit=0, endpoint_exit=0, endpoint=ENDPOINT):
    """An `aws` CLI that records each call's arguments (a line each) and answers the two CodeArtifact calls."""
    return f"""#!/bin/bash
printf "%s\\n" "$*" >>"$(dirname "$0")/../aws-calls"
case "$2" in
  get-authorization-token)
    if [ {token_exit} -ne 0 ]; then echo "An error occurred (AccessDeniedException) when calling the GetAuthorizationToken operation" >&2; exit {token_exit}; fi
    echo "{TOKEN}" ;;
  get-repository-endpoint)
    if [ {endpoint_exit} -ne 0 ]; then echo "An error occurred (ResourceNotFoundException)" >&2; exit {endpoint_exit}; fi
    echo "{endpoint}" ;;
  *) exit 252 ;;
esac
"""


def run_on_create(tmp_path, version: str, index: str, python_exit: int, *, domain="", repository="", aws=None,
                  metadata=True):
    """on_create.sh with ec2-user's home, the kernel python and the instance metadata moved under tmp_path.

    The fake python records its arguments and PIP_INDEX_URL, prints the index URL as a careless pip would
    (the script must mask a token in it), then exits ``python_exit``; ``aws`` is a fake CLI put on the PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "sudo").write_text(FAKE_SUDO)
    (bin_dir / "sudo").chmod(0o755)
    if aws is not None:
        executable(bin_dir / "aws", aws)
    home = tmp_path / "home"
    kernel = home / "anaconda3" / "envs" / "python3" / "bin" / "python"
    kernel.parent.mkdir(parents=True, exist_ok=True)
    kernel.write_text(
        f'#!/bin/bash\necho "args=$*" >"{tmp_path}/pip-args"\necho "index=$PIP_INDEX_URL" >"{tmp_path}/pip-index"\n'
        f'echo "args=$* index=$PIP_INDEX_URL" >"{tmp_path}/pip-call"\n'
        'echo "Looking in indexes: $PIP_INDEX_URL"\necho "ERROR: from $PIP_INDEX_URL" >&2\n'
        f"exit {python_exit}\n"
    )
    kernel.chmod(0o755)
    metadata_file = tmp_path / "resource-metadata.json"
    if metadata:
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{NOTEBOOK}"
        metadata_file.write_text(json.dumps({"ResourceName": NOTEBOOK, "ResourceArn": arn}))
    values = {"__BRAKET_SDK_VERSION__": version, "__PIP_INDEX_URL__": index, "__CODEARTIFACT_DOMAIN__": domain,
              "__CODEARTIFACT_REPOSITORY__": repository}
    script = render(ON_CREATE, values)
    assert "/opt/ml/metadata/resource-metadata.json" in script
    script = script.replace("/home/ec2-user", str(home)).replace("/opt/ml/metadata/resource-metadata.json", str(metadata_file))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30)


def wait_for_file(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    time.sleep(0.1)  # the background job writes its last lines
    return path.read_text()


def wait_for_text(path, text, timeout=10.0):
    """``path``'s content once it holds ``text`` (the background job's last line)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and text in path.read_text()):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.05)
    return path.read_text()


def quantum_dir(tmp_path):
    return tmp_path / "home" / "SageMaker" / ".quantum"


def test_on_create_installs_from_an_internal_mirror(tmp_path):
    result = run_on_create(tmp_path, "1.127.5", "https://pypi.internal.example/simple", python_exit=0)
    assert result.returncode == 0, result.stderr
    call = wait_for_file(tmp_path / "pip-call")
    assert "install --no-input --disable-pip-version-check amazon-braket-sdk==1.127.5" in call
    assert "index=https://pypi.internal.example/simple" in call
    assert not (tmp_path / "home" / "SageMaker" / ".quantum" / "INSTALL-FAILED").exists()


def test_a_failed_install_leaves_a_marker_a_researcher_sees(tmp_path):
    result = run_on_create(tmp_path, "1.127.5", "", python_exit=1)
    assert result.returncode == 0, result.stderr  # the notebook still starts
    marker = wait_for_file(tmp_path / "home" / "SageMaker" / ".quantum" / "INSTALL-FAILED")
    assert "amazon-braket-sdk==1.127.5 could not be installed" in marker
    assert "index=" in (tmp_path / "pip-call").read_text() and "index=h" not in (tmp_path / "pip-call").read_text()


def test_on_create_skips_the_install_when_asked(tmp_path):
    result = run_on_create(tmp_path, "", "", python_exit=0, aws=fake_aws())
    assert result.returncode == 0
    # The lifecycle log (CloudWatch) says that nothing is installed and which SDK the kernel has.
    assert result.stdout == (
        "on_create: amazon-braket-sdk install skipped (braket_sdk_version=None): nothing is installed, "
        "the python3 kernel uses the platform image's amazon-braket-sdk, if the image has one\n"
    )
    time.sleep(0.3)
    assert not (tmp_path / "pip-call").exists() and not (tmp_path / "aws-calls").exists()


def assert_no_token(tmp_path, result):
    """The token is in no log, marker, output or argument; only in pip's environment."""
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for path in [*quantum_dir(tmp_path).rglob("*"), tmp_path / "aws-calls", tmp_path / "pip-args"]:
        if path.is_file():
            texts[str(path)] = path.read_text()
    assert [where for where, text in texts.items() if TOKEN in text] == []


@pytest.mark.parametrize("endpoint", [ENDPOINT, ENDPOINT.rstrip("/")], ids=["with-slash", "without-slash"])
def test_on_create_installs_from_codeartifact_with_a_token_it_never_writes(tmp_path, endpoint):
    result = run_on_create(tmp_path, "1.127.5", "", python_exit=0, domain=DOMAIN, repository=REPOSITORY,
                           aws=fake_aws(endpoint=endpoint))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"on_create: installing amazon-braket-sdk==1.127.5 from CodeArtifact ({DOMAIN}/{REPOSITORY}) in the background, "
        f"log: {quantum_dir(tmp_path)}/install.log\n"
    )
    log = wait_for_text(quantum_dir(tmp_path) / "install.log", "installed amazon-braket-sdk==1.127.5")
    # pip got the documented index URL in its environment, and the pinned SDK as its only argument.
    assert (tmp_path / "pip-index").read_text() == f"index={MIRROR_INDEX}\n"
    assert (tmp_path / "pip-args").read_text() == (
        "args=-m pip install --no-input --disable-pip-version-check amazon-braket-sdk==1.127.5\n"
    )
    # Both calls in the instance's own region, for this domain and repository, as the User Guide writes them.
    assert (tmp_path / "aws-calls").read_text().splitlines() == [
        f"codeartifact get-authorization-token --domain {DOMAIN} --region {REGION} --duration-seconds 3600 "
        "--query authorizationToken --output text",
        f"codeartifact get-repository-endpoint --domain {DOMAIN} --repository {REPOSITORY} --format pypi "
        f"--region {REGION} --query repositoryEndpoint --output text",
    ]
    # The log names the index without the token, and what pip printed has the token masked.
    shown = MIRROR_INDEX.replace(f"aws:{TOKEN}@", "")
    assert f"installing amazon-braket-sdk==1.127.5 from {shown} (CodeArtifact repository {REPOSITORY} of domain {DOMAIN})" in log
    assert f"Looking in indexes: https://aws:****@{shown[len('https://'):]}" in log
    assert "ERROR: from https://aws:****@" in log  # pip's stderr too
    assert not (quantum_dir(tmp_path) / "INSTALL-FAILED").exists()
    assert_no_token(tmp_path, result)


def test_a_failed_install_from_codeartifact_masks_the_token_too(tmp_path):
    result = run_on_create(tmp_path, "1.127.5", "", python_exit=1, domain=DOMAIN, repository=REPOSITORY, aws=fake_aws())
    assert result.returncode == 0, result.stderr
    marker = wait_for_file(quantum_dir(tmp_path) / "INSTALL-FAILED")
    assert marker == f"amazon-braket-sdk==1.127.5 could not be installed; see {quantum_dir(tmp_path)}/install.log\n"
    wait_for_text(quantum_dir(tmp_path) / "install.log", "FAILED to install")
    assert_no_token(tmp_path, result)


@pytest.mark.parametrize(
    "case, aws, metadata, reason",
    [
        pytest.param("no token", fake_aws(token_exit=254), True,
                     f"no CodeArtifact authorization token for domain {DOMAIN} in {REGION}", id="no-token"),
        pytest.param("no endpoint", fake_aws(endpoint_exit=254), True,
                     f"no pypi endpoint for CodeArtifact repository {REPOSITORY} of domain {DOMAIN} in {REGION}",
                     id="no-endpoint"),
        pytest.param("not an https URL", fake_aws(endpoint="None"), True,
                     f"no pypi endpoint for CodeArtifact repository {REPOSITORY} of domain {DOMAIN} in {REGION}",
                     id="endpoint-not-https"),
        pytest.param("no region", fake_aws(), False, "no region in the ResourceArn of the instance metadata",
                     id="no-region"),
    ],
)
def test_codeartifact_failures_leave_a_one_line_reason_and_the_instance_starts(tmp_path, case, aws, metadata, reason):
    result = run_on_create(tmp_path, "1.127.5", "", python_exit=0, domain=DOMAIN, repository=REPOSITORY, aws=aws,
                           metadata=metadata)
    assert result.returncode == 0, result.stderr  # a failing on-create script would leave the instance Failed
    marker = wait_for_file(quantum_dir(tmp_path) / "INSTALL-FAILED")
    assert marker == (
        f"amazon-braket-sdk==1.127.5 could not be installed: {reason}; see {quantum_dir(tmp_path)}/install.log\n"
    )
    log = wait_for_text(quantum_dir(tmp_path) / "install.log", f"FAILED to install amazon-braket-sdk==1.127.5: {reason}")
    assert not (tmp_path / "pip-call").exists()  # nothing installed from anywhere else
    if case == "no token":
        assert "AccessDeniedException" in log  # the CLI's own error is kept for whoever debugs it
    assert_no_token(tmp_path, result)


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
    # Polling for shutdown every 20 ms, not socketserver's 0.5 s: each teardown would wait that out.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
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
