"""Access simulation of the private profile (issue 16): VPC endpoint policies decided together with the
identity and bucket policies, for every environment with ``network="private"``.

What AWS documents, and this simulation models (tests/access/evaluator.py, tests/access/simulation.py):
- AWS PrivateLink Guide, "Control access to VPC endpoints using endpoint policies"
  (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html): "An endpoint policy
  does not override or replace identity-based policies or resource-based policies": a request through
  an endpoint must be allowed by the endpoint policy as well, and an explicit Deny in any of them wins;
  the default policy allows everything (as does a service without endpoint-policy support); a gateway
  endpoint's policy names principals with Principal "*" and the aws:PrincipalArn condition key.
- Amazon S3 User Guide, "Troubleshoot access denied (403 Forbidden) errors": a request is refused when
  "no VPC endpoint policy allows the s3:GetObject action" (implicit) or by an "explicit deny in a VPC
  endpoint policy".
- IAM User Guide, "AWS global condition context keys": aws:SourceVpce "is included in the request
  context only if the requester uses a VPC endpoint to make the request"; "Condition operators": a
  negated operator (StringNotEquals, ArnNotEquals) on a key absent from the request is true, so the
  bucket policy's Deny "unless aws:SourceVpce is our S3 endpoint" applies to every request from outside.
- Who calls from where: the notebook, in the private subnet without internet, reaches Braket through the
  braket interface endpoint and S3 through the S3 gateway endpoint; Braket's service-linked role
  (results.json) and the jobs execution role (job containers) call from Braket's network, never through
  our endpoint; laptops, the console and other accounts call from outside (no aws:SourceVpce).
- Braket's CreateQuantumTask (CreateJob) is decided on the device and on the new task (job): Braket's
  guide writes device-ARN policies ("Restrict user access to certain devices"), IAM's reference names
  quantum-task and job, the stack's roles allow both, and the Braket test service authorizes both.

The DMZ gateway (issue 17, environments with ``submission="gateway"``): its role, reached through IAM
Roles Anywhere, calls Braket and S3 through the stack's endpoints over the private link
(tests/access/simulation.py, gateway_rows):
- IAM Roles Anywhere User Guide, "Trust model": the role trusts rolesanywhere.amazonaws.com for
  sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity; "Attribute mapping and trust policy": the
  example trust policy binds the session to a trust anchor with ArnEquals aws:SourceArn and to the
  certificate with aws:PrincipalTag/x509<Subject|Issuer>/CN;
- IAM User Guide, policy evaluation: an explicit Deny in an identity policy wins, so the notebook role's
  Deny on CreateQuantumTask/CreateJob holds whatever else allows them;
- S3 User Guide, "Object Lock considerations" and the S3 API Reference (DeleteObject): a plain
  DeleteObject adds a delete marker even to a locked object, and blocking deletion means denying
  s3:DeleteObject, s3:DeleteObjectVersion and s3:PutLifecycleConfiguration.

Each private stack is the one conftest synthesizes once per session (``stack_json``).
"""

from __future__ import annotations

import copy
import json

import pytest

from stacks import ENVIRONMENTS, get_environment
from tests.access.evaluator import DEFAULT_ENDPOINT_POLICY, Decision, PolicyError
from tests.synth_helpers import PRIVATE_ENVIRONMENTS, PUBLIC_ENVIRONMENTS
from tests.access.simulation import (
    AWS_NETWORK,
    EXFILTRATION_BUCKET,
    NOT_SIGNED_API_CALLS,
    OUTSIDE,
    OUTSIDER_REQUESTS,
    VPC,
    AccessSimulation,
    decide_rows,
    endpoint_for,
    gateway_rows,
    private_network_rows,
    private_network_violations,
)

PRIVATE = PRIVATE_ENVIRONMENTS
PUBLIC = PUBLIC_ENVIRONMENTS
GATEWAY = sorted(name for name, env in ENVIRONMENTS.items() if env.gateway_submission)


def test_the_private_profile_is_staging_and_prod():
    assert PRIVATE == ["prod", "staging"] and "dev" in PUBLIC


@pytest.fixture(scope="module")
def simulations(stack_json) -> dict[str, AccessSimulation]:
    return {
        env: AccessSimulation(stack_json[env], break_glass_role_name=get_environment(env).break_glass_role_name)
        for env in PRIVATE
    }


def promise_failures(sim: AccessSimulation, env: str, promise: int) -> list[str]:
    config = get_environment(env)
    every = private_network_rows(sim, config) + (gateway_rows(sim, config) if config.gateway_submission else [])
    rows = [row for row in every if row.promise == promise]
    assert rows
    return decide_rows(sim, rows)


def bucket_arn(sim: AccessSimulation) -> str:
    """The results bucket's ARN (a gateway environment also has an audit bucket)."""
    [name] = [n for n in sim.stack.resources("aws_s3_bucket") if n.startswith("Results_")]
    return sim.stack.arn("aws_s3_bucket", name)


# --------------------------------------------------------------------------- the promises


@pytest.mark.parametrize("env", PRIVATE)
def test_notebook_creates_tasks_through_the_braket_endpoint_on_allowed_devices_only(env, simulations):
    """1. Through the braket interface endpoint: CreateQuantumTask and CreateJob on each allowed device
    (every form IAM evaluates, with the new task or job), refused on any other; reads allowed."""
    assert promise_failures(simulations[env], env, 1) == []


@pytest.mark.parametrize("env", PRIVATE)
def test_notebook_uses_the_bucket_through_the_s3_endpoint_and_nothing_else(env, simulations):
    """2. Through the S3 gateway endpoint: the stack's bucket; the same credentials from outside the VPC are
    refused by the bucket policy; another account's bucket (open to everyone) is out of reach."""
    assert promise_failures(simulations[env], env, 2) == []


@pytest.mark.parametrize("env", PRIVATE)
def test_braket_the_jobs_role_and_break_glass_work_from_outside_other_admins_do_not(env, simulations):
    """3. Braket's service-linked role and the jobs role write from Braket's network, the break-glass role
    from anywhere; an administrator of the account is refused objects from outside, and Braket and other
    buckets through the endpoints (the Braket endpoint serves the stack's notebook role only)."""
    assert promise_failures(simulations[env], env, 3) == []


@pytest.mark.parametrize("env", PRIVATE)
def test_other_accounts_are_refused_by_every_endpoint(env, simulations):
    """4. Another account's credentials used inside the VPC (to exfiltrate to their own account) or from
    outside: refused by every endpoint, and by the bucket."""
    sim = simulations[env]
    covered = {name for name in OUTSIDER_REQUESTS if name in sim.endpoints} | {"braket", "s3"}
    assert set(sim.endpoints) - NOT_SIGNED_API_CALLS <= covered, "an endpoint without an outsider row"
    assert promise_failures(sim, env, 4) == []


@pytest.mark.parametrize("env", PRIVATE)
def test_the_braket_endpoint_grants_the_stacks_notebook_role_only(env, simulations):
    """What the Braket endpoint's policy says, so that an administrator of the account inside the VPC is
    refused Braket: every Allow names the notebook role by aws:PrincipalArn (Principal "*", the form the
    PrivateLink guide gives), and other accounts are denied explicitly."""
    sim = simulations[env]
    served = [sim.stack.role("NotebookRole").arn]
    if get_environment(env).gateway_submission:  # and the gateway's role: only it may create there
        served.append(sim.stack.role("Gateway_Role").arn)
    statements = sim.endpoints["braket"].policy["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Condition"]["ArnEquals"]["aws:PrincipalArn"][0] for s in allows} == set(served)
    assert all(list(s["Condition"]) == ["ArnEquals"] and len(s["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == 1
               for s in allows)
    creators = {s["Condition"]["ArnEquals"]["aws:PrincipalArn"][0] for s in allows if "braket:CreateQuantumTask" in s["Action"]}
    assert creators == {served[-1]}  # the gateway where there is one, else the notebook
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalAccount": ["123456789012"]}}
    assert sim.decide("account-admin", "braket:SearchDevices", "*", network=VPC).decision is Decision.IMPLICIT_DENY
    assert sim.decide("account-admin", "braket:SearchDevices", "*", network=OUTSIDE).allowed  # IAM alone


@pytest.mark.parametrize("env", PRIVATE)
def test_the_reasons_are_the_documented_ones(env, simulations):
    """The S3 troubleshooting guide's two cases, and the bucket policy's pin from outside."""
    sim = simulations[env]
    result = f"{bucket_arn(sim)}/results/x/results.json"
    exfiltrated = f"arn:aws:s3:::{EXFILTRATION_BUCKET}/loot.json"
    # "no VPC endpoint policy allows the s3:PutObject action": implicit.
    admin = sim.decide("account-admin", "s3:PutObject", exfiltrated, network=VPC)
    assert admin.decision is Decision.IMPLICIT_DENY and "endpoint policy" in admin.reason
    assert sim.decide("account-admin", "s3:PutObject", exfiltrated, network=OUTSIDE).allowed  # the bucket is open
    # "explicit deny in a VPC endpoint policy": another account's principal.
    outsider = sim.decide("outsider", "s3:PutObject", exfiltrated, network=VPC)
    assert outsider.decision is Decision.EXPLICIT_DENY and "DenyOtherAccounts" in outsider.reason
    # No aws:SourceVpce from outside: the bucket policy's negated condition holds, its Deny applies.
    outside = sim.decide("notebook", "s3:GetObject", result, network=OUTSIDE)
    assert outside.decision is Decision.EXPLICIT_DENY and "DenyObjectAccessOutsideVpcEndpoints" in outside.reason


@pytest.mark.parametrize("env", PRIVATE)
def test_braket_and_job_containers_never_come_through_our_endpoints(env, simulations):
    sim = simulations[env]
    result = f"{bucket_arn(sim)}/results/x/results.json"
    for who in ("braket-service-linked-role", "jobs", "braket.amazonaws.com"):
        assert sim.callers[who].home == AWS_NETWORK
        with pytest.raises(PolicyError):
            sim.decide(who, "s3:PutObject", result, network=VPC)
    assert sim.callers["notebook"].home == VPC


@pytest.mark.parametrize("env", PRIVATE)
def test_the_deployer_reads_the_bucket_configuration_from_outside_the_vpc(env, simulations):
    """bucket.py (restrict_to_vpc_endpoints): "Bucket configuration calls, such as the deployer's, are not
    object actions and stay with IAM". Terraform reads an aws_s3_bucket with HeadBucket
    (terraform-provider-aws, internal/service/s3/bucket.go, findBucket), which S3 authorizes as
    s3:ListBucket (Amazon S3 API Reference, HeadBucket: "you must have permissions to perform the
    s3:ListBucket action"; stacks/deployer_policy.py grants it for that reason), and `cdktf deploy` runs
    outside the VPC. The deployer here is an administrator of the account."""
    sim = simulations[env]
    bucket = bucket_arn(sim)
    refused = [
        f"{action}: {result.decision.value} ({result.reason})"
        for action in ("s3:ListBucket", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:GetLifecycleConfiguration")
        if not (result := sim.decide("account-admin", action, bucket, network=OUTSIDE)).allowed
    ]
    assert refused == []


@pytest.mark.parametrize("env", PRIVATE)
def test_private_stacks_keep_every_promise(env, stack_json):
    assert private_network_violations(stack_json[env], get_environment(env)) == []


# --------------------------------------------------------------------------- the DMZ gateway


def test_prod_is_the_gateway_environment():
    assert GATEWAY == ["prod"] and set(GATEWAY) <= set(PRIVATE)


@pytest.mark.parametrize("env", GATEWAY)
def test_the_gateway_creates_tasks_on_the_allowed_devices_only_through_the_endpoint(env, simulations):
    """5. The gateway's role: tasks on every form of each allowed device through the Braket endpoint, none
    on another device, none from outside the VPC (its credentials copied off the gateway), no hybrid job;
    the notebook role creates nothing, inside the VPC or out."""
    assert promise_failures(simulations[env], env, 5) == []


@pytest.mark.parametrize("env", GATEWAY)
def test_only_roles_anywhere_with_the_stacks_trust_anchor_becomes_the_gateway(env, simulations):
    """6. IAM Roles Anywhere, for a session of this stack's trust anchor and the configured certificate CN;
    not another trust anchor, CN, service, administrator or account."""
    assert promise_failures(simulations[env], env, 6) == []


@pytest.mark.parametrize("env", GATEWAY)
def test_the_gateway_uses_its_results_prefix_and_only_appends_audit_records(env, simulations):
    """7. Results under gateway/ through the S3 endpoint; audit records appended (its key through S3 only),
    never read or deleted; nobody, administrators and the break-glass role included, deletes a record or
    changes the retention or lifecycle."""
    assert promise_failures(simulations[env], env, 7) == []


@pytest.mark.parametrize("env", GATEWAY)
def test_the_gateway_calls_from_the_private_link_and_roles_anywhere_from_aws(env, simulations):
    sim = simulations[env]
    assert sim.callers["gateway"].home == VPC and sim.callers["rolesanywhere.amazonaws.com"].home == AWS_NETWORK
    result = sim.decide_all("gateway", "braket:CreateQuantumTask", (
        "arn:aws:braket:us-east-1:123456789012:device/qpu/ionq/Forte-1",
        "arn:aws:braket:us-east-1:123456789012:quantum-task/x",
    ))
    assert result.allowed and "through the endpoint" in result.reason
    # What the forwarder does after sending: read its task and, when the owner asks, cancel it
    # (gateway/forwarder.py), through the same endpoint, whose policy must allow both.
    for action in ("braket:GetQuantumTask", "braket:CancelQuantumTask"):
        result = sim.decide_all("gateway", action, ("arn:aws:braket:us-east-1:123456789012:quantum-task/x",))
        assert result.allowed, (action, result.reason)


def _gateway_statement(doc: dict, sid: str) -> tuple[dict, dict]:
    for name, document in doc["data"]["aws_iam_policy_document"].items():
        for statement in document.get("statement", []):
            if statement.get("sid", "").startswith(sid):
                return document, statement
    raise AssertionError(f"no statement {sid}")


def drop_statement(sid: str):
    def mutate(doc: dict) -> None:
        document, statement = _gateway_statement(doc, sid)
        document["statement"].remove(statement)

    return mutate


def drop_trust_anchor_condition(doc: dict) -> None:
    [trust] = [d for n, d in doc["data"]["aws_iam_policy_document"].items() if n.startswith("Gateway_Trust")]
    for statement in trust["statement"]:
        statement["condition"] = [c for c in statement["condition"] if c["variable"] != "aws:SourceArn"]


GATEWAY_MUTATIONS = {
    # The gateway's role no longer pinned to the endpoint: its credentials work from anywhere.
    "gateway-endpoint-deny-removed": (
        drop_statement("BraketOnlyThrough"), ["gateway (outside) braket:CreateQuantumTask"]
    ),
    # The trust no longer bound to the stack's trust anchor: any CA registered in the account will do.
    "trust-anchor-condition-removed": (
        drop_trust_anchor_condition, ["rolesanywhere.amazonaws.com (home) sts:AssumeRole"]
    ),
    # The notebook's explicit Deny gone: refused only for want of a grant, which AmazonBraketFullAccess
    # (or any later grant) would give.
    "notebook-deny-removed": (
        drop_statement("DenyCreateTasksAndJobs"), ["notebook (home) braket:CreateQuantumTask"]
    ),
    # The audit bucket's Deny on deletion gone: a delete marker hides a record.
    "audit-delete-deny-removed": (
        drop_statement("DenyDeletingRecords"), ["account-admin (home) s3:DeleteObject"]
    ),
    "audit-retention-freeze-removed": (
        drop_statement("DenyRetentionAndLifecycleChanges"), ["account-admin (home) s3:PutBucketObjectLockConfiguration"]
    ),
    "gateway-job-deny-removed": (drop_statement("DenyHybridJobs"), ["gateway (home) braket:CreateJob"]),
}


@pytest.mark.parametrize("mutation", sorted(GATEWAY_MUTATIONS))
@pytest.mark.parametrize("env", GATEWAY)
def test_the_gateway_rows_catch_a_regression(env, mutation, stack_json):
    mutate, expected = GATEWAY_MUTATIONS[mutation]
    config = get_environment(env)
    before = set(private_network_violations(stack_json[env], config))
    assert before == set()
    doc = copy.deepcopy(stack_json[env])
    mutate(doc)
    added = set(private_network_violations(doc, config)) - before
    missing = [prefix for prefix in expected if not any(v.startswith(prefix) for v in added)]
    assert added and missing == [], sorted(added)


# --------------------------------------------------------------------------- dev is unchanged


@pytest.mark.parametrize("env", PUBLIC)
def test_public_environments_have_no_endpoint_and_no_pin(env, stack_json):
    doc = stack_json[env]
    assert "aws_vpc_endpoint" not in doc.get("resource", {}) and "aws_vpc" not in doc.get("resource", {})
    sim = AccessSimulation(doc)
    assert sim.endpoints == {} and sim.vpc_id is None
    assert "aws:SourceVpce" not in json.dumps(sim.stack.resource_policy("aws_s3_bucket_policy", bucket_arn(sim)))
    # The notebook uses SageMaker's managed network: no aws:SourceVpce, and the bucket does not ask for one.
    assert sim.callers["notebook"].home == OUTSIDE
    assert sim.decide("notebook", "s3:GetObject", f"{bucket_arn(sim)}/results/x/results.json").allowed
    with pytest.raises(PolicyError, match="no VPC"):
        sim.decide("notebook", "s3:GetObject", f"{bucket_arn(sim)}/results/x/results.json", network=VPC)


# --------------------------------------------------------------------------- the simulation has teeth


def _endpoint_resource(doc: dict, short_name: str) -> str:
    [name] = [
        name
        for name, config in doc["resource"]["aws_vpc_endpoint"].items()
        if config["service_name"].endswith(f".{short_name}")
    ]
    return name


def open_endpoint(short_name: str):
    def mutate(doc: dict) -> None:
        doc["resource"]["aws_vpc_endpoint"][_endpoint_resource(doc, short_name)]["policy"] = json.dumps(
            DEFAULT_ENDPOINT_POLICY
        )

    return mutate


def remove_endpoint(short_name: str):
    """The endpoint gone as code would remove it: with every policy statement that names it (the
    notebook role's Deny of Braket from elsewhere, the bucket's pin)."""

    def mutate(doc: dict) -> None:
        name = _endpoint_resource(doc, short_name)
        del doc["resource"]["aws_vpc_endpoint"][name]
        reference = "${aws_vpc_endpoint." + name + "."
        for document in doc["data"]["aws_iam_policy_document"].values():
            document["statement"] = [s for s in document.get("statement", []) if reference not in json.dumps(s)]

    return mutate


def remove_bucket_pin(doc: dict) -> None:
    [policy] = [p for n, p in doc["resource"]["aws_s3_bucket_policy"].items() if n.startswith("Results_")]
    document = doc["data"]["aws_iam_policy_document"][policy["policy"].split(".")[2]]
    kept = [
        s for s in document["statement"] if not any(c["variable"] == "aws:SourceVpce" for c in s.get("condition", []))
    ]
    assert len(kept) == len(document["statement"]) - 1
    document["statement"] = kept


MUTATIONS = {
    # (a) the Braket endpoint with the default full-access policy: an account administrator inside the
    # VPC runs tasks on any device, another account uses our network for its own tasks.
    "braket-endpoint-opened": (
        open_endpoint("braket"),
        ["account-admin (vpc) braket:CreateQuantumTask", "outsider (vpc) braket:CreateQuantumTask"],
    ),
    # (b) the S3 endpoint opened: results leave for another account's bucket through our VPC.
    "s3-endpoint-opened": (
        open_endpoint("s3"),
        [f"account-admin (vpc) s3:PutObject arn:aws:s3:::{EXFILTRATION_BUCKET}",
         f"outsider (vpc) s3:PutObject arn:aws:s3:::{EXFILTRATION_BUCKET}"],
    ),
    # (c) an endpoint removed: a VPC without internet cannot send the request at all.
    "braket-endpoint-removed": (
        remove_endpoint("braket"),
        ["no braket endpoint", "notebook (home) braket:GetQuantumTask"],
    ),
    "s3-endpoint-removed": (
        remove_endpoint("s3"),
        ["no s3 endpoint", "notebook (home) s3:GetObject"],
    ),
    # (d) the bucket policy no longer pinned to the S3 endpoint: objects readable from anywhere.
    "bucket-pin-removed": (
        remove_bucket_pin,
        ["notebook (outside) s3:GetObject", "account-admin (home) s3:GetObject"],
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("env", PRIVATE)
def test_the_simulation_catches_a_regression(env, mutation, stack_json):
    """Each mutation of a deep copy of the synthesized JSON adds violations, and the expected ones (the
    comparison is with the real stack's own, so a known defect cannot make this pass by itself)."""
    mutate, expected = MUTATIONS[mutation]
    config = get_environment(env)
    before = set(private_network_violations(stack_json[env], config))
    doc = copy.deepcopy(stack_json[env])
    mutate(doc)
    added = set(private_network_violations(doc, config)) - before
    missing = [prefix for prefix in expected if not any(v.startswith(prefix) for v in added)]
    assert added and missing == [], sorted(added)
    unreachable = mutation.endswith("removed") and "endpoint" in mutation
    assert not unreachable or any("unreachable" in v for v in added)


# --------------------------------------------------------------------------- routing


def test_each_call_private_apis_lists_goes_through_its_endpoint():
    """The endpoint the simulation sends a call through is the one private_apis.py (where the network's
    endpoints come from) says carries it."""
    from quantum_constructs.private_apis import PACKAGE_MIRROR_API_CALLS, PRIVATE_API_CALLS

    for calls in (*PRIVATE_API_CALLS, *PACKAGE_MIRROR_API_CALLS):
        if calls.signing_name is None:
            continue  # the notebook's Jupyter UI: browsers, not signed API calls (NOT_SIGNED_API_CALLS)
        assert calls.endpoint not in NOT_SIGNED_API_CALLS
        for action in calls.actions:  # the calls' IAM actions, and those AWS authorizes with them
            assert endpoint_for(action) == calls.endpoint, (calls, action)


@pytest.mark.parametrize("env", PRIVATE)
def test_requests_through_an_endpoint_carry_its_id(env, simulations):
    """The bucket policy's aws:SourceVpce is the S3 endpoint's id as the simulation renders it (one
    resolution for both), and a request from outside cannot claim a VPC endpoint's keys."""
    sim = simulations[env]
    policy = json.dumps(sim.stack.resource_policy("aws_s3_bucket_policy", bucket_arn(sim)))
    assert sim.endpoints["s3"].id in policy and sim.endpoints["s3"].gateway and not sim.endpoints["braket"].gateway
    with pytest.raises(PolicyError, match="VPC endpoint"):
        sim.decide("notebook", "s3:GetObject", f"{bucket_arn(sim)}/results/x",
                   {"aws:SourceVpce": sim.endpoints["s3"].id}, network=OUTSIDE)
