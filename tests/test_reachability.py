"""Static reachability of the private profile (issue 16), and the list of calls it rests on.

1. Every private environment's synthesized stack gives every call in ``private_apis.py`` a private
   path (tests/reachability.py says what that takes) and nothing a path to the internet; the checker
   fails when an endpoint is removed, a policy opened to "*", or a way out added.
2. The list against the code that makes the calls, both ways:
   - ``jobs``: every botocore call the CLI makes, recorded in its process while it runs its AWS
     flows against the test services (tests/braket_emulator and moto), is listed, and every call
     listed for ``jobs`` was made;
   - the auto-stop (as deployed in the on-start script): its boto3 calls and its ``aws`` CLI fallback;
   - the lifecycle scripts: their ``aws`` commands and pip's reads from the package mirror;
   - SageMaker's own writes of the lifecycle scripts' logs: allowed to the notebook role;
   - researchers' notebook code: calls the Braket SDK's source makes, or a reason.
"""

from __future__ import annotations

import ast
import base64
import copy
import functools
import gzip
import json
import re
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import boto3
import botocore.client
import botocore.session
import pytest
from botocore import xform_name

from quantum_constructs.network import DEFAULT_INTERFACE_ENDPOINTS, S3
from quantum_constructs.private_apis import (
    AUTOSTOP,
    JOBS,
    LIFECYCLE,
    MADE_BY,
    NOTEBOOK_CODE,
    PACKAGE_MIRROR_API_CALLS,
    PRIVATE_API_CALLS,
    SAGEMAKER,
    ApiCalls,
    endpoints_for,
)
from stacks import ENVIRONMENTS, get_environment
from tests.reachability import endpoint_names, iter_calls, lifecycle_scripts, reachability_violations
from tests.synth_helpers import only, policy_statements, resources
from tests.synth_helpers import PRIVATE_ENVIRONMENTS, PUBLIC_ENVIRONMENTS

PRIVATE = PRIVATE_ENVIRONMENTS
PUBLIC = PUBLIC_ENVIRONMENTS
ALL_CALLS = (*PRIVATE_API_CALLS, *PACKAGE_MIRROR_API_CALLS)
SCRIPTS = Path(__import__("quantum_constructs").__file__).parent / "scripts"
FULL_ACCESS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
)


def listed(made_by: str, calls=ALL_CALLS) -> set[tuple[str, str]]:
    """(service, operation) of every listed call ``made_by`` makes (the service: the IAM prefix,
    which is the signing name for every listed call that has one)."""
    return {(c.service or c.signing_name, op) for c, op in iter_calls(calls) if c.made_by == made_by}


@pytest.fixture(scope="module")
def private_stacks(stack_json) -> dict[str, dict]:
    """The private environments' synthesized stacks, and prod without its package mirror."""
    from quantum_constructs.cdk import Testing

    from stacks.quantum_stack import QuantumStack

    assert PRIVATE, "no environment has network='private'"
    config = replace(get_environment("prod"), name="prodnomirror", package_mirror_domain=None)
    return {**{name: stack_json[name] for name in PRIVATE},
            "prod-without-mirror": json.loads(Testing.synth(QuantumStack(Testing.app(), config)))}


@pytest.fixture
def prod(private_stacks) -> dict:
    """A copy of prod's stack to break."""
    return copy.deepcopy(private_stacks["prod"])


# -- 1. the stacks -------------------------------------------------------------------------------
@pytest.mark.parametrize("env", [*PRIVATE, "prod-without-mirror"])
def test_every_listed_call_has_a_private_path_and_nothing_leads_out(private_stacks, env):
    doc = private_stacks[env]
    assert reachability_violations(doc) == []
    # And no endpoint that no listed call needs (each costs per hour and zone).
    mirror = bool(resources(doc, "aws_codeartifact_repository"))
    assert endpoint_names(doc) == set(endpoints_for(PRIVATE_API_CALLS + (PACKAGE_MIRROR_API_CALLS if mirror else ())))
    assert mirror == (env != "prod-without-mirror")


def test_without_a_mirror_or_an_index_nothing_is_installed(private_stacks):
    [scripts] = lifecycle_scripts(private_stacks["prod-without-mirror"]).values()
    assert re.search(r'^BRAKET_SDK_VERSION=""', scripts["on_create"], re.MULTILINE)
    assert not {"codeartifact.api", "codeartifact.repositories"} & endpoint_names(private_stacks["prod-without-mirror"])


@pytest.mark.parametrize("env", PUBLIC)
def test_public_environments_are_unchanged(stack_json, env):
    doc = stack_json[env]
    assert not {t for t in doc.get("resource", {}) if t.startswith(("aws_vpc", "aws_subnet", "aws_route"))}
    notebook = only(resources(doc, "aws_sagemaker_notebook_instance"))
    assert notebook["direct_internet_access"] == "Enabled" and "subnet_id" not in notebook
    assert any("direct_internet_access is 'Enabled'" in v for v in reachability_violations(doc))


def _endpoint(doc: dict, short: str) -> str:
    [name] = [n for n, e in resources(doc, "aws_vpc_endpoint").items() if e["service_name"].endswith("." + short)]
    return name


def _policy_document(doc: dict, short: str) -> dict:
    reference = resources(doc, "aws_vpc_endpoint")[_endpoint(doc, short)]["policy"]
    return doc["data"]["aws_iam_policy_document"][reference.split(".")[2]]


def _add_internet_gateway(doc: dict) -> None:
    [vpc] = resources(doc, "aws_vpc")
    [table] = resources(doc, "aws_route_table")
    doc["resource"]["aws_internet_gateway"] = {"Igw": {"vpc_id": f"${{aws_vpc.{vpc}.id}}"}}
    doc["resource"]["aws_route"] = {
        "ToInternet": {"route_table_id": f"${{aws_route_table.{table}.id}}", "destination_cidr_block": "0.0.0.0/0",
                       "gateway_id": "${aws_internet_gateway.Igw.id}"}}


def _add_nat_gateway(doc: dict) -> None:
    [table] = resources(doc, "aws_route_table")
    [subnet, *_] = resources(doc, "aws_subnet")
    doc["resource"]["aws_nat_gateway"] = {"Nat": {"subnet_id": f"${{aws_subnet.{subnet}.id}}"}}
    doc["resource"]["aws_route"] = {
        "ToNat": {"route_table_id": f"${{aws_route_table.{table}.id}}", "destination_cidr_block": "203.0.113.0/24",
                  "nat_gateway_id": "${aws_nat_gateway.Nat.id}"}}


def _inline_default_route(doc: dict) -> None:
    table = only(resources(doc, "aws_route_table"))
    table["route"] = [{"ipv6_cidr_block": "::/0", "egress_only_gateway_id": "eigw-0123456789abcdef0"}]


def _drop_action(doc: dict, short: str, action: str) -> None:
    for statement in _policy_document(doc, short)["statement"]:
        statement["actions"] = [a for a in statement["actions"] if a != action]


def _drop_rules(doc: dict, type_: str, key: str) -> None:
    """Every security group rule of ``type_`` that has ``key`` (its peer: a group, a prefix list)."""
    rules = resources(doc, type_)
    dropped = [n for n, r in rules.items() if key in r]
    assert dropped
    for name in dropped:
        del rules[name]


def _unconditional(doc: dict, short: str) -> None:
    """The account-pinned statement without its condition: Action, Resource and Principal "*"."""
    for statement in _policy_document(doc, short)["statement"]:
        statement.update(actions=["*"], resources=["*"])
        statement.pop("condition", None)
        statement.pop("effect", None)


MUTATIONS = {
    "braket endpoint removed": (lambda d: resources(d, "aws_vpc_endpoint").pop(_endpoint(d, "braket")),
                                "no VPC endpoint com.amazonaws.<region>.braket"),
    "S3 endpoint removed": (lambda d: resources(d, "aws_vpc_endpoint").pop(_endpoint(d, "s3")),
                            "no VPC endpoint com.amazonaws.<region>.s3"),
    "mirror's repositories endpoint removed": (
        lambda d: resources(d, "aws_vpc_endpoint").pop(_endpoint(d, "codeartifact.repositories")),
        "no VPC endpoint com.amazonaws.<region>.codeartifact.repositories"),
    "braket policy opened to *": (
        lambda d: resources(d, "aws_vpc_endpoint")[_endpoint(d, "braket")].update(policy=FULL_ACCESS),
        "(braket): its policy allows full access"),
    "sts statement without its condition": (lambda d: _unconditional(d, "sts"), "(sts): its policy allows full access"),
    "braket policy removed (AWS's default)": (
        lambda d: resources(d, "aws_vpc_endpoint")[_endpoint(d, "braket")].pop("policy"),
        "(braket): no policy: AWS gives the endpoint its default policy, full access"),
    "a listed action missing from a policy": (lambda d: _drop_action(d, "braket", "braket:SearchSpendingLimits"),
                                              "lets no braket:SearchSpendingLimits through"),
    "the mirror's bearer token missing from its policy": (
        lambda d: _drop_action(d, "codeartifact.api", "sts:GetServiceBearerToken"),
        "lets no sts:GetServiceBearerToken through"),
    "internet gateway and a default route": (_add_internet_gateway, "aws_internet_gateway.Igw: an internet gateway"),
    "NAT gateway": (_add_nat_gateway, "routes 203.0.113.0/24 to a NAT gateway"),
    "inline ::/0 route": (_inline_default_route, "a default route (::/0)"),
    "public IPs on a subnet": (
        lambda d: next(iter(resources(d, "aws_subnet").values())).update(map_public_ip_on_launch=True),
        "map_public_ip_on_launch"),
    "an Elastic IP": (lambda d: d["resource"].update(aws_eip={"Ip": {"domain": "vpc"}}), "aws_eip.Ip"),
    "notebook with direct internet": (
        lambda d: only(resources(d, "aws_sagemaker_notebook_instance")).update(direct_internet_access="Enabled"),
        "direct_internet_access is 'Enabled'"),
    "private DNS off": (
        lambda d: resources(d, "aws_vpc_endpoint")[_endpoint(d, "sts")].update(private_dns_enabled=False),
        "(sts): private_dns_enabled is not true"),
    "endpoints admit nobody": (
        lambda d: _drop_rules(d, "aws_vpc_security_group_ingress_rule", "referenced_security_group_id"),
        "admits TCP 443 from a security group of"),
    "notebook may not send to S3": (
        lambda d: _drop_rules(d, "aws_vpc_security_group_egress_rule", "prefix_list_id"),
        "(s3): no security group of aws_sagemaker_notebook_instance"),
    "S3 endpoint off the notebook's route table": (
        lambda d: resources(d, "aws_vpc_endpoint")[_endpoint(d, "s3")].update(route_table_ids=[]),
        "(s3): not on aws_route_table."),
    "on-create installs from PyPI": (
        lambda d: only(resources(d, "aws_sagemaker_notebook_instance_lifecycle_configuration")).update(
            on_create=base64.b64encode(b'BRAKET_SDK_VERSION="1.0"\nPACKAGE_INDEX=""\nMIRROR_DOMAIN=""\n').decode()),
        "installs amazon-braket-sdk from pip's default index"),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_the_checker_fails_a_broken_stack(prod, mutation):
    assert reachability_violations(prod) == []
    mutate, expected = MUTATIONS[mutation]
    mutate(prod)
    violations = reachability_violations(prod)
    assert any(expected in v for v in violations), violations


def test_a_listed_call_without_an_endpoint_is_a_violation(private_stacks):
    extra = ApiCalls("ec2", "ec2", "a test", ("DescribeInstances",), made_by=JOBS)
    [violation] = reachability_violations(private_stacks["prod"], (*PRIVATE_API_CALLS, extra))
    assert violation.startswith("no VPC endpoint com.amazonaws.<region>.ec2 (ec2)") and "DescribeInstances" in violation


def test_the_list_names_real_services_and_operations():
    loader = _botocore()
    # Not an API operation: pip's requests to the repository endpoint, authorized under this action.
    iam_only = {("codeartifact", "ReadFromRepository")}
    for call, operation in iter_calls(ALL_CALLS):
        assert call.made_by in MADE_BY, call
        service = call.service or call.signing_name
        model = loader.get_service_model(service)
        assert model.signing_name == service, call
        assert operation in model.operation_names or (service, operation) in iam_only, (call, operation)
    assert set(DEFAULT_INTERFACE_ENDPOINTS) | {S3} == set(endpoints_for(PRIVATE_API_CALLS))


# -- 2a. jobs, recorded --------------------------------------------------------------------------
@functools.cache
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


class Recorder:
    """Every botocore call made in this process while ``jobs`` runs, except by ``excluded`` clients
    (the test services' own and the test's): (signing name, operation, region)."""

    def __init__(self, monkeypatch) -> None:
        self.calls: set[tuple[str, str, str]] = set()
        self.hosts: set[str] = set()
        self.excluded: set[int] = set()
        self._running = 0
        self._lock = threading.Lock()
        make_api_call = botocore.client.BaseClient._make_api_call
        getaddrinfo = socket.getaddrinfo

        def recording_call(client, operation_name, api_params):
            if self._running and id(client) not in self.excluded:
                with self._lock:
                    self.calls.add((client.meta.service_model.signing_name, operation_name, client.meta.region_name))
            return make_api_call(client, operation_name, api_params)

        def recording_getaddrinfo(host, *args, **kwargs):
            if self._running:
                self.hosts.add(host.decode() if isinstance(host, bytes) else str(host))
            return getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording_call)
        monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)

    def jobs(self, *argv: str) -> int:
        """``python -m jobs ARGV`` in this process (its entry point, ``jobs.cli.main``)."""
        from jobs.cli import main

        with self._lock:
            self._running += 1
        try:
            return main(list(argv))
        finally:
            with self._lock:
                self._running -= 1


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _cancel_when(recorder: Recorder, results: Path, event: str, codes: list) -> threading.Thread:
    """A thread that runs `jobs cancel JOB_ID` once a job journals ``event`` (the test's other job
    runs in the main thread: `run` and `hybrid` handle Ctrl-C there)."""
    before = set(results.iterdir()) if results.is_dir() else set()

    def journaled() -> bool:
        new = [d for d in results.iterdir() if d not in before] if results.is_dir() else []
        return bool(new) and f'"event": "{event}"' in (new[0] / "journal.jsonl").read_text()

    def cancel() -> None:
        _wait(journaled)
        [job] = [d for d in results.iterdir() if d not in before]
        codes.append(recorder.jobs("cancel", job.name, "--json"))

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    return thread


def test_every_call_jobs_makes_is_listed_and_every_listed_jobs_call_is_made(workdir, aws, monkeypatch, capsys):
    """The flows of `python -m jobs` on AWS (staging's private stack, its bucket and roles: prod submits through its gateway only): a Bell circuit
    on SV1, its status and results, an estimate under a spending limit, the devices, a cancelled
    task, a hybrid job with its logs and result, a cancelled hybrid job."""
    config = get_environment("staging")
    # What jobs sends is recorded here; whether staging's roles may send it is for the access simulation
    # (tests/test_access*.py) and the dev stack's IAM-enforced runs (tests/test_jobs_hybrid_emulator.py).
    jobs_role = "arn:aws:iam::123456789012:role/service-role/AmazonBraketJobsExecutionRole-staging"
    (workdir / "outputs").mkdir()
    (workdir / "outputs" / "staging.json").write_text(json.dumps({"staging": {"jobs_role_arn": jobs_role}}))
    aws.s3.create_bucket(Bucket=config.results_bucket_name)
    braket = boto3.client("braket", endpoint_url=aws.emulator.url)
    braket.create_spending_limit(deviceArn="arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", spendingLimit="100")
    source = workdir / "ok_job"
    source.mkdir()
    (source / "run.py").write_text("def main():\n    from braket.jobs import save_job_result\n\n"
                                   "    save_job_result({'ok': 1})\n")

    recorder = Recorder(monkeypatch)
    recorder.excluded |= {id(aws.emulator._s3), id(aws.emulator._logs), id(aws.s3), id(braket)}
    results = workdir / "results" / "staging"

    def jobs(*argv: str, expect: int = 0) -> dict:
        """The command's JSON document (the last one: a cancel in the other thread prints first)."""
        code = recorder.jobs(*argv, "--json")
        out, documents, decoder = capsys.readouterr().out, [], json.JSONDecoder()
        while out.strip():
            document, end = decoder.raw_decode(out.strip())
            documents.append(document)
            out = out.strip()[end:]
        assert code == expect, documents
        return documents[-1]

    ran = jobs("run", "--env", "staging", "--device", "sv1", "--shots", "100")
    [task] = ran["tasks"]
    assert task["state"] == "COMPLETED"
    jobs("status", ran["job_id"])
    jobs("results", task["id"], "--env", "staging")
    estimate = jobs("estimate", "--env", "staging", "--device", "forte-1", "--shots", "100")
    assert estimate["spending_limit"]["remaining_usd"] == 100
    jobs("devices", "--env", "staging")

    aws.emulator.configure(queue_delay=60)  # queued until cancelled
    codes: list[int] = []
    canceller = _cancel_when(recorder, results, "task", codes)
    assert jobs("run", "--env", "staging", "--device", "sv1", expect=1)["tasks"][0]["state"] == "CANCELLED"
    canceller.join(60)
    aws.emulator.configure(queue_delay=0)
    hybrid = jobs("hybrid", "--env", "staging", "--source", str(source), "--entry-point", "ok_job.run:main", "--device", "sv1")
    assert hybrid["state"] == "COMPLETED" and hybrid["result"] == {"ok": 1}

    aws.emulator.configure(queue_delay=60)  # queued until cancelled
    canceller = _cancel_when(recorder, results, "braket_job", codes)
    assert jobs("hybrid", "--env", "staging", "--source", str(source), "--entry-point", "ok_job.run:main",
                "--device", "sv1", expect=1)["state"] == "CANCELLED"
    canceller.join(60)
    assert codes == [0, 0]

    made = {(service, operation) for service, operation, _ in recorder.calls}
    assert made - listed(JOBS) == set(), "calls jobs makes that private_apis.py does not list"
    assert listed(JOBS) - made == set(), "calls private_apis.py lists for jobs that jobs never made"
    # Every call to the stack's region, where its endpoints are; no other host than the test services.
    assert {region for *_, region in recorder.calls} == {config.region}
    assert recorder.hosts <= {"127.0.0.1", "localhost", "::1"}, recorder.hosts


# -- 2b. the auto-stop, as deployed -----------------------------------------------------------------
def _deployed_autostop(doc: dict) -> str:
    [scripts] = lifecycle_scripts(doc).values()
    [encoded] = re.findall(r"<<'B64'[^\n]*\n(.*?)\nB64\n", scripts["on_start"], re.DOTALL)
    return gzip.decompress(base64.b64decode(encoded)).decode()


def _operation(service: str, name: str, separator: str = "_") -> tuple[str, str | None]:
    """(signing name, operation) of the boto3 method (or, with '-', the CLI command) ``name`` of
    ``service`` (a boto3 client's or the CLI's service name); operation None if there is none."""
    model = _botocore().get_service_model(service)
    return model.signing_name, next((op for op in model.operation_names if xform_name(op, separator) == name), None)


def _boto3_calls(tree: ast.AST) -> set[tuple[str, str]]:
    """(service, method) of every call on a ``boto3.client("service")``, directly or through a name."""

    def service_of(node) -> str | None:
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "boto3"):
            assert node.args and isinstance(node.args[0], ast.Constant), ast.unparse(node)
            return node.args[0].value
        return None

    names = {t.id: service_of(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign) and service_of(n.value)
             for t in n.targets if isinstance(t, ast.Name)}
    uses = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == "boto3"}
    assert uses <= {"client"}, f"boto3 used otherwise than boto3.client(...): {uses}"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            service = service_of(base) or (names.get(base.id) if isinstance(base, ast.Name) else None)
            if service:
                found.add((service, node.func.attr))
    return found


def _cli_calls(tree: ast.AST) -> set[tuple[str, str]]:
    """(service, command) of every ``["aws", SERVICE, COMMAND, ...]`` literal."""
    return {
        (n.elts[1].value, n.elts[2].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.List, ast.Tuple)) and len(n.elts) >= 3
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in n.elts[:3])
        and n.elts[0].value == "aws"
    }


def test_the_autostop_makes_exactly_its_listed_calls(private_stacks):
    deployed = {_deployed_autostop(doc) for doc in private_stacks.values()}
    assert deployed == {(SCRIPTS / "autostop.py").read_text()}  # the file parsed below is what runs
    tree = ast.parse(deployed.pop())
    by_boto3 = {_operation(service, method) for service, method in _boto3_calls(tree)}
    by_cli = {_operation(service, command, "-") for service, command in _cli_calls(tree)}
    assert by_boto3 == by_cli == listed(AUTOSTOP) == {("sagemaker", "StopNotebookInstance")}


# -- 2c. the lifecycle scripts -----------------------------------------------------------------------
# An `aws` CLI invocation: the word aws (or a path to it), or a shell variable holding it.
_AWS_CLI = re.compile(r'(?<![\w./-])(?:"?\$\{?(?:aws|AWS_CLI)\}?"?|(?:[\w./-]*/)?aws)[ \t]+(?:\\\n\s*)?'
                      r'([a-z][a-z0-9-]*)[ \t]+([a-z][a-z0-9-]*)')


def _script_calls(script: str) -> set[tuple[str, str]]:
    """(service, operation) of every `aws SERVICE COMMAND` in a shell script (comments aside)."""
    code = "\n".join(re.sub(r"(^|\s)#(?!!).*$", "", line) for line in script.splitlines())
    found = set()
    for service, command in _AWS_CLI.findall(code):
        known = service in _botocore().get_available_services()
        signing_name, operation = _operation(service, command, "-") if known else (service, None)
        assert operation, f"`aws {service} {command}` is no API operation this test can map"
        found.add((signing_name, operation))
    return found


def test_the_lifecycle_scripts_make_exactly_their_listed_calls(private_stacks):
    sources = {path.name: path.read_text() for path in sorted(SCRIPTS.glob("*.sh"))}
    assert set(sources) == {"on_create.sh", "on_start.sh"}
    by_cli = set().union(*map(_script_calls, sources.values()))
    assert by_cli <= listed(LIFECYCLE)
    on_create = sources["on_create.sh"]
    # pip reads the repository whose endpoint GetRepositoryEndpoint returned (its index URL):
    # CodeArtifact authorizes those requests as codeartifact:ReadFromRepository.
    assert ("codeartifact", "GetRepositoryEndpoint") in by_cli
    assert "get-repository-endpoint" in on_create and "PIP_INDEX_URL" in on_create and " -m pip install " in on_create
    assert by_cli | {("codeartifact", "ReadFromRepository")} == listed(LIFECYCLE)
    # The mirror's calls are the mirror's list, and only the mirror's.
    assert listed(LIFECYCLE) == listed(LIFECYCLE, PACKAGE_MIRROR_API_CALLS)
    assert {c.made_by for c in PACKAGE_MIRROR_API_CALLS} == {LIFECYCLE}
    for env in PRIVATE:  # as rendered: the same calls, each with its endpoint in the stack
        [scripts] = lifecycle_scripts(private_stacks[env]).values()
        rendered = set().union(*map(_script_calls, scripts.values()))
        assert rendered == by_cli
        needed = {c.endpoint for c, op in iter_calls(ALL_CALLS) if (c.signing_name, op) in rendered}
        assert needed <= endpoint_names(private_stacks[env]), env


# -- 2d. SageMaker's own calls ------------------------------------------------------------------------
@pytest.mark.parametrize("env", PRIVATE)
def test_sagemakers_log_writes_are_what_the_notebook_role_allows_on_its_log_group(private_stacks, env):
    """SageMaker writes the lifecycle scripts' output to /aws/sagemaker/NotebookInstances (SageMaker API
    Reference, CreateNotebookInstanceLifecycleConfig), as the notebook's role; not our code to record."""
    granted = {
        action
        for statement in policy_statements(private_stacks[env])
        if any("/aws/sagemaker/NotebookInstances" in r for r in statement.get("resources", []))
        for action in statement.get("actions", [])
    }
    sagemaker = [a for c in ALL_CALLS if c.made_by == SAGEMAKER for a in c.actions]
    assert sagemaker and set(sagemaker) <= granted


# -- 2e. researchers' notebook code ----------------------------------------------------------------------
# Listed calls of researchers that no code of ours or of the Braket SDK makes, and why they are listed.
RESEARCHERS_OWN = {
    ("braket", "SearchJobs"): "their own boto3 code: the notebook role may search jobs (role.py)",
    ("s3", "HeadObject"): "s3transfer's download_file (the SDK's AwsSession.download_from_s3) heads before it gets",
    ("sagemaker", "CreatePresignedNotebookInstanceUrl"): "opening the notebook from the premises (console, aws CLI)",
    ("sagemaker", "DescribeNotebookInstance"): "the console or aws CLI on the premises, before opening it",
    ("kms", "Decrypt"): "their own client-side encryption",
    ("kms", "DescribeKey"): "their own client-side encryption",
    ("kms", "Encrypt"): "their own client-side encryption",
    ("kms", "GenerateDataKey"): "their own client-side encryption",
}


@functools.cache
def _braket_sdk_source() -> str:
    from importlib.util import find_spec

    # Found, not imported: importing the SDK costs seconds.
    roots = {Path(p) for name in ("braket.aws", "braket.jobs") for p in find_spec(name).submodule_search_locations}
    return "\n".join(p.read_text() for root in roots for p in sorted(root.rglob("*.py")))


def test_researchers_calls_are_the_braket_sdks_or_say_why():
    source = _braket_sdk_source()

    def made_by_the_sdk(operation: str) -> bool:
        method = xform_name(operation)
        return re.search(rf"\.{method}\(|get_paginator\(\s*[\"']{method}[\"']", source) is not None

    calls = listed(NOTEBOOK_CODE)
    assert set(RESEARCHERS_OWN) <= calls, "reasons for calls the list no longer has"
    for service, operation in sorted(calls):
        if (service, operation) in RESEARCHERS_OWN:
            assert not made_by_the_sdk(operation), f"{operation}: the SDK makes it now; drop its reason"
        else:
            assert made_by_the_sdk(operation), f"{service}:{operation} is listed for the SDK, which never calls it"
