"""The DMZ gateway's side in AWS (issue 17): QuantumGateway (its IAM role through IAM Roles Anywhere),
QuantumAuditBucket (S3 Object Lock), the notebook role that creates nothing, and the stack settings.

Documents the assertions follow:
- IAM Roles Anywhere User Guide, "Trust model": the role trusts rolesanywhere.amazonaws.com for
  sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity; "Attribute mapping and trust policy": the
  example trust policy binds the session to the trust anchor (ArnEquals aws:SourceArn) and to the
  certificate (StringEquals aws:PrincipalTag/x509<Subject|Issuer>/CN).
- IAM Roles Anywhere API Reference (the model botocore ships): CreateProfile durationSeconds
  900-43200; x509CertificateData at most 204,800 characters; the provider sends enabled=false for a
  trust anchor that does not set it (internal/service/rolesanywhere/trust_anchor.go).
- S3 User Guide, "Locking objects with Object Lock" and "Object Lock considerations"; S3 API
  Reference, DeleteObject ("deny them the s3:DeleteObject, s3:DeleteObjectVersion, and
  s3:PutLifeCycleConfiguration actions").
- RFC 7468 (PEM): text outside the encapsulation boundaries is explanatory and ignored.
"""

from __future__ import annotations

import dataclasses
import datetime
import re

import pytest
from quantum_constructs.cdk import App, TerraformStack
from quantum_constructs.aws.provider import AwsProvider
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from quantum_constructs import (
    BraketNotebookRole,
    ExistingNotebookRole,
    QuantumAuditBucket,
    QuantumGateway,
    QuantumPrivateNetwork,
    QuantumResultsBucket,
    ca_bundle,
)
from quantum_constructs import gateway as gateway_module

from stacks import ENVIRONMENTS, get_environment
from stacks.config import DM1, IONQ_FORTE_1, SV1, EnvironmentConfig
from stacks.quantum_stack import REPOSITORY, QuantumStack
from tests.synth_helpers import data_sources, only, resources, synth_json



# --------------------------------------------------------------------------- certificates


def certificate(common_name: str, *, ca: bool | None = True, issuer=None) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """A PEM certificate (self-signed, or signed by ``issuer``: (name, key)) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_name, issuer_key = issuer or (subject, key)
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    pem = builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    return pem, key


@pytest.fixture(scope="module")
def root_ca() -> tuple[str, ec.EllipticCurvePrivateKey]:
    return certificate("Premises Root CA")


@pytest.fixture(scope="module")
def ca_pem(root_ca) -> str:
    return root_ca[0]


def test_the_bundle_keeps_the_ca_certificates_and_drops_explanatory_text(root_ca):
    root, root_key = root_ca
    intermediate, _ = certificate("Premises Issuing CA", issuer=(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Premises Root CA")]), root_key))
    text = f"Our premises CA (explanatory text, RFC 7468)\n{root}\nand its issuing CA:\n{intermediate}"
    bundle = ca_bundle(text)
    assert bundle == root + intermediate  # re-encoded exactly as the PEM standard writes them
    assert "explanatory" not in bundle and bundle.count("BEGIN CERTIFICATE") == 2


def test_the_committed_example_ca_is_a_ca_without_a_key():
    """prod's example CA is clearly marked, passes the checks, and holds no key (nor should any CA file)."""
    text = (REPOSITORY / get_environment("prod").gateway_ca_certificate).read_text()
    assert text.startswith("EXAMPLE ONLY - REPLACE BEFORE USE.")
    assert "PRIVATE KEY" not in text
    bundle = ca_bundle(text)
    assert bundle.count("BEGIN CERTIFICATE") == 1
    loaded = x509.load_pem_x509_certificate(bundle.encode())
    assert loaded.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert "EXAMPLE" in loaded.subject.rfc4514_string()


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda ca: None, "ca_certificate_pem=None is not allowed"),
        (lambda ca: "   ", "a PEM bundle of CA certificates"),
        (lambda ca: "just some text", "without a PEM block"),
        # A key pasted by mistake: refused, and the message does not repeat it.
        (lambda ca: ca + "-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n", "<PEM with PRIVATE KEY>"),
        (lambda ca: "-----BEGIN CERTIFICATE-----\n!!notbase64!!\n-----END CERTIFICATE-----\n", "<certificate 1 of 1>"),
        (lambda ca: ca + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "<certificate 2 of 2>"),
        # The gateway's own certificate instead of its CA's (no basicConstraints, or CA:FALSE).
        (lambda ca: certificate("quantum-gateway-prod", ca=False)[0], "CA certificates (basicConstraints CA:TRUE)"),
        (lambda ca: ca + certificate("v3 without constraints", ca=None)[0], "<certificate 2 of 2>"),
    ],
)
def test_a_bundle_that_is_not_ca_certificates_is_refused_in_one_line(ca_pem, make, fragment):
    with pytest.raises(ValueError) as excinfo:
        ca_bundle(make(ca_pem))
    message = str(excinfo.value)
    assert "\n" not in message and fragment in message and message.startswith("ca_certificate_pem=")
    assert "MIGHAgEA" not in message


def test_a_bundle_longer_than_roles_anywhere_takes_is_refused(ca_pem, monkeypatch):
    monkeypatch.setattr(gateway_module, "_CERTIFICATE_DATA_LIMIT", len(ca_pem) * 2 - 1)
    assert ca_bundle(ca_pem * 1)
    with pytest.raises(ValueError, match=r"at most \d+ characters of certificates"):
        ca_bundle(ca_pem * 2)


# --------------------------------------------------------------------------- QuantumGateway


def gateway_stack(ca_pem: str, **props):
    stack = TerraformStack(App(), "gw")
    AwsProvider(stack, "aws", region="us-east-1")
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-gateway-test")
    gateway = QuantumGateway(
        stack, "Gateway", **{"allowed_device_arns": [SV1, IONQ_FORTE_1], "results_bucket": bucket,
                             "ca_certificate_pem": ca_pem, **props}
    )
    return stack, gateway, bucket


@pytest.fixture(scope="module")
def built(ca_pem):
    stack, gateway, bucket = gateway_stack(ca_pem, certificate_subject_cn="quantum-gateway-prod")
    return {"doc": synth_json(stack), "gateway": gateway}


def document(doc: dict, prefix: str) -> dict:
    return only({n: d for n, d in data_sources(doc, "aws_iam_policy_document").items() if n.startswith(prefix)})


def test_the_role_trusts_roles_anywhere_for_this_trust_anchor_and_certificate_only(built):
    doc = built["doc"]
    role = only(resources(doc, "aws_iam_role"))
    assert role["name"] == "QuantumGateway-gw-Gateway" and role["force_detach_policies"] is True
    [trust] = document(doc, "Gateway_Trust")["statement"]
    anchor = "${aws_rolesanywhere_trust_anchor." + next(iter(resources(doc, "aws_rolesanywhere_trust_anchor"))) + ".arn}"
    assert trust["principals"] == [{"type": "Service", "identifiers": ["rolesanywhere.amazonaws.com"]}]
    assert trust["actions"] == ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    assert trust["condition"] == [
        {"test": "ArnEquals", "variable": "aws:SourceArn", "values": [anchor]},
        {"test": "StringEquals", "variable": "aws:PrincipalTag/x509Subject/CN", "values": ["quantum-gateway-prod"]},
    ]


def test_without_a_subject_cn_any_certificate_of_the_ca_is_admitted(ca_pem):
    stack, _, _ = gateway_stack(ca_pem)
    [trust] = document(synth_json(stack), "Gateway_Trust")["statement"]
    assert [c["variable"] for c in trust["condition"]] == ["aws:SourceArn"]


def test_the_trust_anchor_and_profile(built, ca_pem):
    doc = built["doc"]
    anchor = only(resources(doc, "aws_rolesanywhere_trust_anchor"))
    assert anchor["enabled"] is True  # the provider would send false
    assert anchor["source"] == {"source_type": "CERTIFICATE_BUNDLE", "source_data": {"x509_certificate_data": ca_bundle(ca_pem)}}
    assert re.fullmatch(r"[ a-zA-Z0-9_-]{1,255}", anchor["name"])  # the API's ResourceName
    profile = only(resources(doc, "aws_rolesanywhere_profile"))
    role = "${aws_iam_role." + next(iter(resources(doc, "aws_iam_role"))) + ".arn}"
    assert profile["role_arns"] == [role] and profile["enabled"] is True and profile["duration_seconds"] == 3600
    assert not {"managed_policy_arns", "session_policy"} & set(profile)
    gateway = built["gateway"]
    assert gateway.role_arn == gateway.role_arn  # one token: statements naming the role compare equal
    assert all(arn.startswith("${") for arn in (gateway.role_arn, gateway.trust_anchor_arn, gateway.profile_arn))
    assert gateway.results_prefix == "gateway"


def test_the_policy_creates_tasks_on_the_devices_reads_its_own_and_never_jobs(built):
    statements = {s["sid"]: s for s in document(built["doc"], "Gateway_PolicyDocument")["statement"]}
    own = "arn:${data.aws_partition." + next(
        n for n in data_sources(built["doc"], "aws_partition") if n.startswith("Gateway_")
    ) + ".partition}:braket:*:${data.aws_caller_identity." + next(
        n for n in data_sources(built["doc"], "aws_caller_identity") if n.startswith("Gateway_")
    ) + ".account_id}:quantum-task/*"
    create = statements["CreateTasksOnAllowedDevices"]
    devices = ["arn:aws:braket:*:*:device/quantum-simulator/amazon/sv1", "arn:aws:braket:us-east-1:*:device/qpu/ionq/Forte-1"]
    assert create["actions"] == ["braket:CreateQuantumTask"] and create["resources"] == [*devices, own]
    assert statements["DenyCreateTasksOnOtherDevices"]["not_resources"] == create["resources"]
    assert statements["ManageOwnTasks"]["resources"] == [own]
    assert "braket:TagResource" in statements["ManageOwnTasks"]["actions"]  # the forwarder tags its tasks
    assert statements["DescribeAllowedDevices"]["resources"] == devices
    assert statements["DenyHybridJobs"] == {"sid": "DenyHybridJobs", "effect": "Deny", "actions": ["braket:CreateJob"],
                                            "resources": ["*"]}
    assert statements["DenySpendingLimitChanges"]["effect"] == "Deny"
    # The results bucket's gateway/ prefix, and its key through S3 only.
    objects = statements["ResultsGatewayObjects"]
    assert objects["resources"][0].endswith(".arn}/gateway/*") and "s3:DeleteObject" in objects["actions"]
    assert statements["ResultsKeyViaS3"]["condition"][0]["variable"] == "kms:ViaService"
    allowed = {a for s in statements.values() if s.get("effect", "Allow") == "Allow" for a in s["actions"]}
    assert not {"braket:CreateJob", "iam:PassRole", "s3:PutBucketPolicy"} & allowed


def test_the_private_network_admits_the_gateway_through_its_endpoint_only(ca_pem):
    stack, gateway, bucket = gateway_stack(ca_pem)
    network = QuantumPrivateNetwork(stack, "Network", availability_zones=["us-east-1a", "us-east-1b"])
    assert network.grant_braket(gateway) is True and network.grant_braket(gateway) is False
    doc = synth_json(stack)
    endpoint = {s["sid"]: s for s in document(doc, "Network_Endpoint-braket-Policy")["statement"]}
    assert {"GatewayUsesBraket", "GatewayCreatesOnAllowedDevices"} <= set(endpoint)
    deny = {s["sid"]: s for s in document(doc, "Gateway_PolicyDocument")["statement"]}["BraketOnlyThroughNetworkEndpoint"]
    assert deny["effect"] == "Deny" and deny["actions"] == ["braket:*"]
    assert deny["condition"][0]["variable"] == "aws:SourceVpce"


@pytest.mark.parametrize(
    "props, expected",
    [
        ({"allowed_device_arns": []}, "allowed_device_arns=[] is not allowed"),
        ({"allowed_device_arns": SV1}, "allowed_device_arns="),
        ({"allowed_device_arns": ["arn:aws:braket:::device/unknown"]}, "Braket device ARNs"),
        ({"results_bucket": "amazon-braket-gateway-test"}, "results_bucket='amazon-braket-gateway-test' is not allowed"),
        ({"results_prefix": "/gateway/"}, "results_prefix='/gateway/' is not allowed"),
        ({"certificate_subject_cn": ""}, "certificate_subject_cn='' is not allowed"),
        ({"certificate_subject_cn": "x" * 65}, "at most 64 characters"),
        ({"session_duration_seconds": 899}, "session_duration_seconds=899 is not allowed: expected 900 to 43200"),
        ({"session_duration_seconds": 43201}, "session_duration_seconds=43201"),
        ({"session_duration_seconds": True}, "session_duration_seconds=True"),
        ({"role_name": "Gateway"}, "starting with 'QuantumGateway'"),
        ({"permissions_boundary": "boundary"}, "permissions_boundary='boundary'"),
        ({"provider": "aws"}, "provider='aws' is not allowed"),
    ],
)
def test_bad_gateway_props_are_refused_naming_the_prop(ca_pem, props, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        gateway_stack(ca_pem, **props)


def test_two_gateways_and_an_aliased_provider(ca_pem):
    stack, _, bucket = gateway_stack(ca_pem)
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    QuantumGateway(stack, "Second", allowed_device_arns=[DM1], results_bucket=bucket, ca_certificate_pem=ca_pem,
                   results_prefix="second", provider=eu)
    doc = synth_json(stack)
    for type_ in ("aws_iam_role", "aws_rolesanywhere_trust_anchor", "aws_rolesanywhere_profile"):
        names = [r["name"] for r in resources(doc, type_).values()]
        assert len(names) == len(set(names)) == 2, type_
    second = [c for kind in ("resource", "data") for t in doc[kind].values() for n, c in t.items() if n.startswith("Second_")]
    assert second and all(c.get("provider") == "aws.eu" for c in second)


# --------------------------------------------------------------------------- QuantumAuditBucket


def audit_stack(**props):
    stack = TerraformStack(App(), "audit")
    AwsProvider(stack, "aws", region="us-east-1")
    audit = QuantumAuditBucket(stack, "Audit", **{"bucket_name": "quantum-audit-test", "retention_days": 2557, **props})
    return stack, audit


def audit_policy(doc: dict) -> dict[str, dict]:
    return {s["sid"]: s for s in document(doc, "Audit_PolicyDocument")["statement"]}


def test_the_audit_bucket_locks_every_record_in_compliance_mode():
    stack, audit = audit_stack(access_log_bucket="quantum-access-logs")
    doc = synth_json(stack)
    bucket = only(resources(doc, "aws_s3_bucket"))
    assert bucket == {"bucket": "quantum-audit-test", "object_lock_enabled": True, "force_destroy": False}
    lock = only(resources(doc, "aws_s3_bucket_object_lock_configuration"))
    assert lock["rule"] == {"default_retention": {"mode": "COMPLIANCE", "days": 2557}}
    versioning = next(iter(resources(doc, "aws_s3_bucket_versioning")))
    assert lock["depends_on"] == [f"aws_s3_bucket_versioning.{versioning}"]
    assert only(resources(doc, "aws_s3_bucket_versioning"))["versioning_configuration"] == {"status": "Enabled"}
    key = only(resources(doc, "aws_kms_key"))
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30
    [administer] = document(doc, "Audit_KeyPolicy")["statement"]  # the account only: no service writes here
    assert administer["sid"] == "AccountAdministersAndDelegatesUse"
    sse = only(resources(doc, "aws_s3_bucket_server_side_encryption_configuration"))["rule"][0]
    assert sse["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms" and sse["bucket_key_enabled"]
    assert only(resources(doc, "aws_s3_bucket_public_access_block"))["restrict_public_buckets"] is True
    assert only(resources(doc, "aws_s3_bucket_ownership_controls"))["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    [rule] = only(resources(doc, "aws_s3_bucket_lifecycle_configuration"))["rule"]
    assert rule["id"] == "abort-incomplete-multipart-uploads" and "expiration" not in rule  # never expires a record
    assert only(resources(doc, "aws_s3_bucket_logging"))["target_bucket"] == "quantum-access-logs"
    assert only(resources(doc, "aws_s3_bucket_notification"))["eventbridge"] is True
    assert (audit.retention_days, audit.records_prefix, audit.literal_bucket_name) == (2557, "audit", "quantum-audit-test")


def test_the_bucket_policy_refuses_deletion_weaker_records_and_retention_changes_to_everyone():
    stack, _ = audit_stack()
    doc = synth_json(stack)
    statements = audit_policy(doc)
    assert set(statements) == {"DenyInsecureTransport", "DenyDeletingRecords", "DenyGovernanceModeRecords",
                               "DenyRetentionAndLifecycleChanges"}
    assert all(s["effect"] == "Deny" and s["principals"] == [{"type": "*", "identifiers": ["*"]}] for s in statements.values())
    assert statements["DenyDeletingRecords"]["actions"] == [
        "s3:BypassGovernanceRetention", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    assert "condition" not in statements["DenyDeletingRecords"]
    assert statements["DenyGovernanceModeRecords"]["condition"] == [
        {"test": "StringEquals", "variable": "s3:object-lock-mode", "values": ["GOVERNANCE"]}]
    frozen = statements["DenyRetentionAndLifecycleChanges"]
    assert frozen["actions"] == ["s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration"]
    assert "condition" not in frozen and [r.endswith(".arn}") for r in frozen["resources"]] == [True]
    # The Denies refuse the deployer too: the configurations they freeze are applied first.
    policy = only(resources(doc, "aws_s3_bucket_policy"))
    lock, lifecycle = (next(iter(resources(doc, t))) for t in
                       ("aws_s3_bucket_object_lock_configuration", "aws_s3_bucket_lifecycle_configuration"))
    assert policy["depends_on"] == [f"aws_s3_bucket_object_lock_configuration.{lock}",
                                    f"aws_s3_bucket_lifecycle_configuration.{lifecycle}"]


def test_allowing_retention_changes_lifts_that_deny_only():
    stack, _ = audit_stack(allow_retention_changes=True)
    statements = audit_policy(synth_json(stack))
    assert set(statements) == {"DenyInsecureTransport", "DenyDeletingRecords", "DenyGovernanceModeRecords"}


def test_grant_append_puts_records_under_the_prefix_and_nothing_else(ca_pem):
    stack, gateway, _ = gateway_stack(ca_pem)
    audit = QuantumAuditBucket(stack, "Audit", bucket_name="quantum-audit-test", retention_days=30)
    assert audit.grant_append(gateway) is True and audit.grant_append(gateway) is False
    assert audit.grant_append(gateway, prefix="audit/replica") is True  # another prefix: one more statement
    statements = {s["sid"]: s for s in document(synth_json(stack), "Gateway_PolicyDocument")["statement"]}
    append = statements["AuditAuditAppend"]
    assert append["actions"] == ["s3:PutObject"] and append["resources"][0].endswith(".arn}/audit/*")
    assert statements["AuditAuditReplicaAppend"]["resources"][0].endswith(".arn}/audit/replica/*")
    key = statements["AuditKeyViaS3"]
    assert key["actions"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert key["condition"] == [{"test": "StringEquals", "variable": "kms:ViaService",
                                 "values": ["s3.${data.aws_region." + next(
                                     n for n in data_sources(synth_json(stack), "aws_region") if n.startswith("Audit_")
                                 ) + ".region}.amazonaws.com"]}]
    audit_actions = {a for s in statements.values() for r in s.get("resources", []) if "Audit_" in r for a in s["actions"]}
    assert audit_actions == {"s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"}  # no read, list or delete
    with pytest.raises(ValueError, match="role='not a role' is not allowed"):
        audit.grant_append("not a role")
    with pytest.raises(ValueError, match="prefix='/x' is not allowed"):
        audit.grant_append(gateway, prefix="/x")


@pytest.mark.parametrize(
    "props, expected",
    [
        ({"bucket_name": "Audit_Bucket"}, "bucket_name='Audit_Bucket' is not allowed"),
        ({"bucket_name": "xn--audit"}, "bucket_name='xn--audit'"),
        ({"retention_days": 0}, "retention_days=0 is not allowed: expected a whole number of days from 1 to 36500"),
        ({"retention_days": 36501}, "retention_days=36501"),
        ({"retention_days": 7.5}, "retention_days=7.5"),
        ({"retention_days": True}, "retention_days=True"),
        ({"records_prefix": "audit/"}, "records_prefix='audit/'"),
        ({"access_log_bucket": "quantum-audit-test"}, "access_log_bucket='quantum-audit-test'"),
        ({"allow_retention_changes": "yes"}, "allow_retention_changes='yes'"),
        ({"provider": object()}, "provider="),
    ],
)
def test_bad_audit_props_are_refused_naming_the_prop(props, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        audit_stack(**props)


def test_the_s3_endpoint_admits_the_audit_bucket():
    stack, audit = audit_stack()
    network = QuantumPrivateNetwork(stack, "Network", availability_zones=["us-east-1a", "us-east-1b"])
    assert network.grant_bucket(audit) is True and network.grant_bucket(audit) is False
    statements = {s["sid"]: s for s in document(synth_json(stack), "Network_Endpoint-s3-Policy")["statement"]}
    assert statements["AuditObjects"]["resources"][0].startswith("${aws_s3_bucket.Audit_Bucket_")
    with pytest.raises(ValueError, match="a QuantumResultsBucket or a QuantumAuditBucket"):
        network.grant_bucket("quantum-audit-test")


# --------------------------------------------------------------------------- the notebook role


def test_a_notebook_role_that_may_not_create_denies_it_everywhere():
    stack = TerraformStack(App(), "nb")
    AwsProvider(stack, "aws", region="us-east-1")
    role = BraketNotebookRole(stack, "NotebookRole", allowed_device_arns=[SV1], create_tasks_and_jobs=False,
                              attach_braket_full_access=True)
    existing = ExistingNotebookRole(stack, "Existing", role_arn="arn:aws:iam::123456789012:role/service-role/Central",
                                    allowed_device_arns=[SV1], create_tasks_and_jobs=False)
    network = QuantumPrivateNetwork(stack, "Network", availability_zones=["us-east-1a", "us-east-1b"])
    network.grant_braket(role)
    doc = synth_json(stack)
    for prefix in ("NotebookRole_PolicyDocument", "Existing_PolicyDocument"):
        statements = document(doc, prefix)["statement"]
        creating = [s for s in statements if {"braket:CreateQuantumTask", "braket:CreateJob"} & set(s["actions"])]
        # An explicit Deny: AmazonBraketFullAccess, attached here, allows braket:* and loses to it.
        assert creating == [{"sid": "DenyCreateTasksAndJobs", "effect": "Deny", "resources": ["*"],
                             "actions": ["braket:CreateQuantumTask", "braket:CreateJob"]}]
        assert any(s["sid"] == "ManageOwnTasksAndJobs" for s in statements)  # reading and cancelling stay
    endpoint = {s["sid"] for s in document(doc, "Network_Endpoint-braket-Policy")["statement"]}
    assert endpoint == {"DenyOtherAccounts", "NotebookRoleUsesBraket"}  # no create through the endpoint either
    assert role.may_create is False and existing.may_create is False
    with pytest.raises(ValueError, match="create_tasks_and_jobs='no' is not allowed: expected True or False"):
        BraketNotebookRole(stack, "Bad", allowed_device_arns=[SV1], create_tasks_and_jobs="no")


# --------------------------------------------------------------------------- the stacks


def test_prod_submits_through_the_gateway_and_staging_and_dev_directly():
    assert {name: env.submission for name, env in ENVIRONMENTS.items()} == {
        "dev": "direct", "staging": "direct", "prod": "gateway"}


def test_prods_gateway_uses_the_configured_ca_bucket_and_retention(stack_json):
    prod, doc = get_environment("prod"), stack_json["prod"]
    anchor = only(resources(doc, "aws_rolesanywhere_trust_anchor"))
    expected = ca_bundle((REPOSITORY / prod.gateway_ca_certificate).read_text())
    assert anchor["source"]["source_data"]["x509_certificate_data"] == expected
    [trust] = document(doc, "Gateway_Trust")["statement"]
    assert {"test": "StringEquals", "variable": "aws:PrincipalTag/x509Subject/CN",
            "values": [prod.gateway_certificate_subject_cn]} in trust["condition"]
    audit = only({n: b for n, b in resources(doc, "aws_s3_bucket").items() if n.startswith("Audit_")})
    assert audit["bucket"] == prod.audit_bucket_name and audit["object_lock_enabled"] is True
    lock = only(resources(doc, "aws_s3_bucket_object_lock_configuration"))
    assert lock["rule"]["default_retention"] == {"mode": "COMPLIANCE", "days": prod.audit_retention_days}
    for env in ("dev", "staging"):
        assert not {"aws_rolesanywhere_trust_anchor", "aws_s3_bucket_object_lock_configuration"} & set(stack_json[env]["resource"])


GATEWAY_SETTINGS = {
    "gateway_ca_certificate": "stacks/gateway-ca/prod.pem",
    "audit_bucket_name": "quantum-cloud-gateway-audit-x",
    "audit_retention_days": 30,
}


@pytest.mark.parametrize(
    "env, changes, expected",
    [
        ("prod", {"submission": "dmz"}, "submission='dmz' is not allowed: expected 'direct' or 'gateway'"),
        ("dev", {"submission": "gateway", **GATEWAY_SETTINGS}, "'direct' unless network='private'"),
        ("prod", {"gateway_ca_certificate": None}, "gateway_ca_certificate=None is not allowed"),
        ("prod", {"gateway_ca_certificate": "/etc/ssl/ca.pem"}, "gateway_ca_certificate='/etc/ssl/ca.pem'"),
        ("prod", {"gateway_ca_certificate": "../ca.pem"}, "gateway_ca_certificate='../ca.pem'"),
        ("prod", {"gateway_ca_certificate": "stacks/gateway-ca/prod.crt"}, "PEM bundle"),
        ("prod", {"gateway_certificate_subject_cn": "x" * 65}, "gateway_certificate_subject_cn="),
        ("prod", {"audit_bucket_name": None}, "audit_bucket_name=None"),
        ("prod", {"audit_bucket_name": "amazon-braket-quantum-cloud-results-prod"}, "not the results bucket's"),
        ("prod", {"audit_retention_days": 0}, "audit_retention_days=0"),
        ("prod", {"audit_retention_days": None}, "audit_retention_days=None"),
        ("staging", {"audit_retention_days": 30}, "audit_retention_days=30 is not allowed: expected None unless submission='gateway'"),
        ("staging", {"audit_retention_changes_allowed": True}, "False unless submission='gateway'"),
        ("prod", {"audit_retention_changes_allowed": 1}, "audit_retention_changes_allowed=1 is not allowed: expected True or False"),
    ],
)
def test_bad_submission_settings_are_refused_in_one_line(env, changes, expected):
    with pytest.raises(ValueError) as excinfo:
        dataclasses.replace(get_environment(env), **changes)
    assert expected in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_a_missing_or_keyed_ca_file_stops_synthesis_with_one_line(tmp_path, ca_pem, monkeypatch):
    from quantum_constructs.cdk import Testing

    import stacks.quantum_stack as quantum_stack

    missing = dataclasses.replace(get_environment("prod"), gateway_ca_certificate="stacks/gateway-ca/missing.pem")
    with pytest.raises(ValueError) as excinfo:
        QuantumStack(Testing.app(), missing)
    message = str(excinfo.value)
    assert message.startswith("gateway_ca_certificate='stacks/gateway-ca/missing.pem' is not allowed")
    assert "no such file" in message and "\n" not in message

    # A private key next to the CA certificate (the classic paste): refused before it reaches any state.
    (tmp_path / "stacks" / "gateway-ca").mkdir(parents=True)
    (tmp_path / "stacks" / "gateway-ca" / "prod.pem").write_text(
        ca_pem + "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"
    )
    monkeypatch.setattr(quantum_stack, "REPOSITORY", tmp_path)
    with pytest.raises(ValueError) as excinfo:
        QuantumStack(Testing.app(), get_environment("prod"))
    message = str(excinfo.value)
    assert message.startswith("gateway_ca_certificate='stacks/gateway-ca/prod.pem' is not allowed")
    assert "EC PRIVATE KEY" in message and "MHcCAQEE" not in message and "\n" not in message


def test_lifting_the_retention_freeze_is_one_setting_of_the_environment():
    from quantum_constructs.cdk import Testing

    lifted = dataclasses.replace(get_environment("prod"), audit_retention_changes_allowed=True)
    doc = synth_json(QuantumStack(Testing.app(), lifted))
    statements = {s["sid"] for s in document(doc, "Audit_PolicyDocument")["statement"]}
    assert "DenyRetentionAndLifecycleChanges" not in statements and "DenyDeletingRecords" in statements


def test_staging_could_submit_through_a_gateway_too():
    """The setting composes: staging (private) may submit through a gateway too, with its own settings."""
    staging = dataclasses.replace(get_environment("staging"), submission="gateway", **GATEWAY_SETTINGS)
    assert isinstance(staging, EnvironmentConfig) and staging.gateway_submission
