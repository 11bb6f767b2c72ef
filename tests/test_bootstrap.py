"""The bootstrap stack (issue 19): the Terraform state bucket with its key and alias, and the
access-log buckets, created once before staging and prod from the same configuration they read.

What S3 requires of a server access log destination (S3 User Guide, "Enabling Amazon S3 server
access logging"): the source's account and region, SSE-S3 default encryption ("default server-side
encryption with AWS KMS keys (SSE-KMS) is not supported"), no Object Lock default retention, and no
access logging of its own; with the bucket owner enforced setting, log delivery is granted by bucket
policy to logging.s3.amazonaws.com ("Permissions for log delivery"). What the logging service may
write is decided in tests/test_access.py (BOOTSTRAP matrices).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from quantum_constructs import AccessLogBucket, TerraformStateBucket
from stacks import BOOTSTRAP, BOOTSTRAP_STACK, ENVIRONMENTS
from stacks.bootstrap_stack import BOOTSTRAP_OUTPUT_NAMES
from stacks.config import BootstrapConfig, S3StateBackend
from tests.synth_helpers import data_sources, only, resources, synth_json

REPO = Path(__file__).resolve().parents[1]
LOGGING = "logging.s3.amazonaws.com"


def of_bucket(doc: dict, type_: str, bucket_resource: str) -> dict:
    """The only resource of ``type_`` that configures the bucket resource ``bucket_resource``."""
    ref = "${aws_s3_bucket." + bucket_resource + ".id}"
    return only({n: r for n, r in resources(doc, type_).items() if r["bucket"] == ref})


def bucket_resource(doc: dict, bucket_name: str) -> str:
    """The Terraform name of the bucket ``bucket_name``."""
    return only({n: n for n, b in resources(doc, "aws_s3_bucket").items() if b["bucket"] == bucket_name})


def policy_document(doc: dict, bucket: str) -> dict:
    policy = of_bucket(doc, "aws_s3_bucket_policy", bucket)["policy"]  # ${data.aws_iam_policy_document.<name>.json}
    return data_sources(doc, "aws_iam_policy_document")[policy.split(".")[2]]


def provider_region(doc: dict, config: dict) -> str:
    """The region of the AWS provider a resource is on (its ``provider`` alias, else the default)."""
    alias = config.get("provider", "aws").removeprefix("aws.")
    providers = doc["provider"]["aws"]
    return only({p["region"]: p for p in providers if p.get("alias", "aws") == alias})["region"]


# -- what the stack holds -----------------------------------------------------------------------
def test_the_state_bucket_is_versioned_kms_encrypted_private_tls_only_and_kept(bootstrap_json):
    doc = bootstrap_json
    state = bucket_resource(doc, BOOTSTRAP.state.bucket)
    bucket = resources(doc, "aws_s3_bucket")[state]
    assert bucket["force_destroy"] is False and bucket["lifecycle"] == {"prevent_destroy": True}
    assert of_bucket(doc, "aws_s3_bucket_versioning", state)["versioning_configuration"] == {"status": "Enabled"}
    [rule] = of_bucket(doc, "aws_s3_bucket_server_side_encryption_configuration", state)["rule"]
    [key_name] = resources(doc, "aws_kms_key")
    assert rule == {
        "apply_server_side_encryption_by_default": {
            "sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key." + key_name + ".arn}"},
        "bucket_key_enabled": True,
    }
    block = of_bucket(doc, "aws_s3_bucket_public_access_block", state)
    assert all(block[flag] is True for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                                "restrict_public_buckets"))
    assert of_bucket(doc, "aws_s3_bucket_ownership_controls", state)["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    [deny] = policy_document(doc, state)["statement"]
    assert deny["effect"] == "Deny" and deny["actions"] == ["s3:*"]
    assert deny["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    assert of_bucket(doc, "aws_s3_bucket_notification", state)["eventbridge"] is True


def test_the_state_key_rotates_is_kept_and_has_the_configured_alias(bootstrap_json):
    [(key_name, key)] = resources(bootstrap_json, "aws_kms_key").items()
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30
    assert key["lifecycle"] == {"prevent_destroy": True}
    alias = only(resources(bootstrap_json, "aws_kms_alias"))
    assert alias["name"] == BOOTSTRAP.state.kms_key_id
    assert alias["target_key_id"] == "${aws_kms_key." + key_name + ".key_id}"
    assert alias["lifecycle"] == {"prevent_destroy": True}
    # The account administers the key and delegates its use to IAM (the deployer's policy, via S3).
    [statement] = data_sources(bootstrap_json, "aws_iam_policy_document")[key["policy"].split(".")[2]]["statement"]
    assert statement["principals"][0]["identifiers"][0].endswith(":root")


def test_noncurrent_state_versions_expire_after_the_configured_days(bootstrap_json):
    state = bucket_resource(bootstrap_json, BOOTSTRAP.state.bucket)
    rules = {r["id"]: r for r in of_bucket(bootstrap_json, "aws_s3_bucket_lifecycle_configuration", state)["rule"]}
    assert rules["expire-noncurrent-state-versions"]["noncurrent_version_expiration"] == [
        {"noncurrent_days": BOOTSTRAP.state_noncurrent_version_days, "newer_noncurrent_versions": 10}]
    assert "expiration" not in rules["expire-noncurrent-state-versions"]  # the current state never expires
    assert rules["remove-expired-delete-markers"]["expiration"] == [{"expired_object_delete_marker": True}]
    assert rules["abort-incomplete-multipart-uploads"]["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]


def test_one_access_log_bucket_per_configured_target_sse_s3_and_not_logging_itself(bootstrap_json):
    doc = bootstrap_json
    plans = BOOTSTRAP.access_log_buckets(ENVIRONMENTS)
    expected = {env.access_log_bucket for env in ENVIRONMENTS.values() if env.access_log_bucket} | {
        BOOTSTRAP.state_access_log_bucket}
    assert {plan.name for plan in plans} == expected - set(BOOTSTRAP.existing_access_log_buckets)
    names = {b["bucket"] for b in resources(doc, "aws_s3_bucket").values()}
    assert names == {plan.name for plan in plans} | {BOOTSTRAP.state.bucket}
    logged = {json.dumps(log["bucket"]) for log in resources(doc, "aws_s3_bucket_logging").values()}
    for plan in plans:
        bucket = bucket_resource(doc, plan.name)
        [rule] = of_bucket(doc, "aws_s3_bucket_server_side_encryption_configuration", bucket)["rule"]
        assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
        assert of_bucket(doc, "aws_s3_bucket_ownership_controls", bucket)["rule"] == {"object_ownership": "BucketOwnerEnforced"}
        assert of_bucket(doc, "aws_s3_bucket_versioning", bucket)["versioning_configuration"] == {"status": "Enabled"}
        assert resources(doc, "aws_s3_bucket")[bucket]["lifecycle"] == {"prevent_destroy": True}
        assert json.dumps("${aws_s3_bucket." + bucket + ".id}") not in logged  # a log bucket does not log itself
        rules = {r["id"]: r for r in of_bucket(doc, "aws_s3_bucket_lifecycle_configuration", bucket)["rule"]}
        assert rules["expire-access-logs"]["expiration"] == [{"days": BOOTSTRAP.access_log_retention_days}]
        assert rules["expire-access-logs"]["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
        assert provider_region(doc, resources(doc, "aws_s3_bucket")[bucket]) == plan.region


def test_each_log_bucket_policy_lets_the_logging_service_write_each_source_under_its_prefix(bootstrap_json):
    doc = bootstrap_json
    for plan in BOOTSTRAP.access_log_buckets(ENVIRONMENTS):
        bucket = bucket_resource(doc, plan.name)
        statements = {s["sid"]: s for s in policy_document(doc, bucket)["statement"]}
        assert statements.pop("DenyInsecureTransport")["effect"] == "Deny"
        assert len(statements) == len(plan.sources)
        for source in plan.sources:
            [grant] = [s for s in statements.values()
                       if s["condition"][1]["values"][0].endswith(f":s3:::{source}")]
            assert grant["effect"] == "Allow" and grant["actions"] == ["s3:PutObject"]
            assert grant["principals"] == [{"type": "Service", "identifiers": [LOGGING]}]
            assert grant["resources"] == ["${aws_s3_bucket." + bucket + ".arn}" + f"/s3-access/{source}/*"]
            account, arn = grant["condition"]
            assert account["test"] == "StringEquals" and account["variable"] == "aws:SourceAccount"
            assert account["values"][0].startswith("${data.aws_caller_identity.")
            assert arn["test"] == "ArnLike" and arn["variable"] == "aws:SourceArn"


def test_the_state_bucket_logs_to_its_log_bucket_once_that_accepts_it(bootstrap_json):
    doc = bootstrap_json
    state = bucket_resource(doc, BOOTSTRAP.state.bucket)
    log_bucket = bucket_resource(doc, BOOTSTRAP.state_access_log_bucket)
    logging = only(resources(doc, "aws_s3_bucket_logging"))
    assert logging["bucket"] == "${aws_s3_bucket." + state + ".id}"
    assert logging["target_bucket"] == "${aws_s3_bucket." + log_bucket + ".bucket}"
    assert logging["target_prefix"] == f"s3-access/{BOOTSTRAP.state.bucket}/"
    # Enabled only after the log bucket's policy lets the logging service write there.
    assert logging["depends_on"] == ["aws_s3_bucket_policy." + of_bucket_name(doc, "aws_s3_bucket_policy", log_bucket)]


def of_bucket_name(doc: dict, type_: str, bucket: str) -> str:
    ref = "${aws_s3_bucket." + bucket + ".id}"
    return only({n: n for n, r in resources(doc, type_).items() if r["bucket"] == ref})


def test_local_state_relative_path_tags_guardrails_and_outputs(bootstrap_json, synthesized_stacks):
    doc = bootstrap_json
    assert doc["terraform"]["backend"] == {"local": {"path": "../../../terraform.bootstrap.tfstate"}}
    assert str(REPO) not in synthesized_stacks[BOOTSTRAP_STACK]  # machine-independent
    assert doc["terraform"]["required_version"] == ">= 1.10"
    [provider] = doc["provider"]["aws"]
    assert provider["region"] == BOOTSTRAP.region
    assert provider["default_tags"] == [{"tags": {"Project": "quantum-cloud", "Environment": "bootstrap", "ManagedBy": "cdktf"}}]
    assert tuple(doc["output"]) == tuple(sorted(BOOTSTRAP_OUTPUT_NAMES))
    assert doc["output"]["state_kms_key_alias"]["value"] == BOOTSTRAP.state.kms_key_id
    assert doc["output"]["state_region"]["value"] == BOOTSTRAP.state.region
    assert len(doc["output"]["access_log_bucket_names"]["value"]) == len(BOOTSTRAP.access_log_buckets(ENVIRONMENTS))


def test_the_deployer_policy_generator_refuses_the_bootstrap_naming_the_type(bootstrap_json):
    """The bootstrap is deployed once by an administrator (README): the generator says why it prints
    nothing for it rather than printing a partial policy."""
    from stacks.deployer_policy import deployer_policy

    with pytest.raises(ValueError, match="aws_kms_alias"):
        deployer_policy(bootstrap_json)


# -- the names agree ----------------------------------------------------------------------------
def disagreements(bootstrap_doc: dict, env_docs: dict[str, dict], bootstrap: BootstrapConfig) -> list[str]:
    """Every name an environment stack expects to exist (its S3 backend's bucket, key alias and
    region; each access-log target) that the bootstrap stack neither creates, in that region and
    open to that source, nor config declares existing. Read from the synthesized JSON of both."""
    from tests.access.bootstrap import BootstrapSimulation
    from tests.access.evaluator import Decision
    from security.iam_documents import ACCOUNT

    sim = BootstrapSimulation(bootstrap_doc)
    buckets = {b["bucket"]: (n, provider_region(bootstrap_doc, b)) for n, b in resources(bootstrap_doc, "aws_s3_bucket").items()}
    aliases = {a["name"]: provider_region(bootstrap_doc, a) for a in resources(bootstrap_doc, "aws_kms_alias").values()}
    problems = []
    for env, doc in sorted(env_docs.items()):
        backend = doc["terraform"]["backend"].get("s3")
        if backend is not None:
            if not bootstrap.create_state_bucket:
                if (backend["bucket"], backend["kms_key_id"]) != (bootstrap.state.bucket, bootstrap.state.kms_key_id):
                    problems.append(f"{env}: backend {backend['bucket']} is not the declared existing state bucket")
            elif buckets.get(backend["bucket"], (None, None))[1] != backend["region"]:
                problems.append(f"{env}: state bucket {backend['bucket']} ({backend['region']}) is not created")
            elif aliases.get(backend["kms_key_id"]) != backend["region"]:
                problems.append(f"{env}: state key {backend['kms_key_id']} ({backend['region']}) is not created")
        [provider] = doc["provider"]["aws"]
        names = {n: b["bucket"] for n, b in resources(doc, "aws_s3_bucket").items()}
        for logging in resources(doc, "aws_s3_bucket_logging").values():
            source = names[logging["bucket"].split(".")[1]]
            target, prefix = logging["target_bucket"], logging["target_prefix"]
            if target in bootstrap.existing_access_log_buckets:
                continue
            if target not in buckets or buckets[target][1] != provider["region"]:
                problems.append(f"{env}: access-log bucket {target} ({provider['region']}) is not created")
                continue
            delivery = sim.decide(LOGGING, "s3:PutObject", f"arn:aws:s3:::{target}/{prefix}2026-01-01-00-00-00-0123",
                                  {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:s3:::{source}"})
            if delivery.decision is not Decision.ALLOW:
                problems.append(f"{env}: {target} refuses the logs of {source} under {prefix}: {delivery.reason}")
    return problems


def test_every_name_a_stack_expects_is_one_the_bootstrap_creates(bootstrap_json, stack_json):
    """The backend bucket, key alias and region of staging and prod, and every access-log target of
    every environment stack (results and audit buckets), exist after the bootstrap, in the right
    region, and accept those logs."""
    assert disagreements(bootstrap_json, stack_json, BOOTSTRAP) == []
    # The check sees what it checks: both kinds of names are present in the environment stacks.
    assert sum("s3" in doc["terraform"]["backend"] for doc in stack_json.values()) >= 2
    assert sum(len(resources(doc, "aws_s3_bucket_logging")) for doc in stack_json.values()) >= 3


def test_the_name_check_fails_when_a_stack_expects_what_the_bootstrap_does_not_create(bootstrap_json, stack_json):
    """Teeth: an environment whose access-log bucket, prefix or backend the bootstrap was not built
    for is reported, each in one line."""
    import copy

    docs = copy.deepcopy(stack_json)
    staging_logging = next(iter(resources(docs["staging"], "aws_s3_bucket_logging").values()))
    staging_logging["target_bucket"] = "quantum-cloud-access-logs-elsewhere"
    prod_logging = next(iter(resources(docs["prod"], "aws_s3_bucket_logging").values()))
    prod_logging["target_prefix"] = "somewhere-else/"
    docs["prod"]["terraform"]["backend"]["s3"]["kms_key_id"] = "alias/another-key"
    problems = disagreements(bootstrap_json, docs, BOOTSTRAP)
    assert [p.split(":")[0] for p in problems] == ["prod", "prod", "staging"]
    assert "alias/another-key" in problems[0] and "somewhere-else/" in problems[1]
    assert "quantum-cloud-access-logs-elsewhere" in problems[2]


# -- what config says exists already ----------------------------------------------------------
def with_log_archive(archive: str) -> tuple[BootstrapConfig, dict]:
    """The configuration with every environment logging to an existing central ``archive``, which
    the bootstrap config declares existing."""
    environments = {n: dataclasses.replace(e, access_log_bucket=archive if e.access_log_bucket else None)
                    for n, e in ENVIRONMENTS.items()}
    bootstrap = dataclasses.replace(BOOTSTRAP, existing_access_log_buckets=(archive,))
    return bootstrap, environments


def test_an_existing_log_archive_is_not_created_and_the_names_still_agree():
    from quantum_constructs.cdk import Testing
    from stacks.bootstrap_stack import BootstrapStack
    from stacks.quantum_stack import QuantumStack

    bootstrap, environments = with_log_archive("org-central-access-logs")
    app = Testing.app()
    doc = synth_json(BootstrapStack(app, bootstrap, environments))
    names = {b["bucket"] for b in resources(doc, "aws_s3_bucket").values()}
    assert "org-central-access-logs" not in names
    assert names == {BOOTSTRAP.state.bucket, BOOTSTRAP.state_access_log_bucket}
    env_docs = {n: synth_json(QuantumStack(app, e)) for n, e in environments.items() if n != "dev"}
    assert {log["target_bucket"] for d in env_docs.values() for log in resources(d, "aws_s3_bucket_logging").values()} == {
        "org-central-access-logs"}
    assert disagreements(doc, env_docs, bootstrap) == []
    # Undeclared, the same archive is a name the bootstrap does not create.
    assert disagreements(doc, env_docs, BOOTSTRAP) != []


def test_an_existing_state_bucket_is_not_created():
    from quantum_constructs.cdk import Testing
    from stacks.bootstrap_stack import BootstrapStack

    existing = S3StateBackend(bucket="org-terraform-state", region="us-east-1",
                              kms_key_id="arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d")
    bootstrap = BootstrapConfig(state=existing, create_state_bucket=False)
    environments = {n: dataclasses.replace(e, backend=existing if e.backend else None) for n, e in ENVIRONMENTS.items()}
    doc = synth_json(BootstrapStack(Testing.app(), bootstrap, environments))
    assert "aws_kms_key" not in doc["resource"] and "aws_kms_alias" not in doc["resource"]
    names = {b["bucket"] for b in resources(doc, "aws_s3_bucket").values()}
    assert names == {e.access_log_bucket for e in ENVIRONMENTS.values() if e.access_log_bucket}
    assert doc["output"]["state_bucket_name"]["value"] == "org-terraform-state"
    assert doc["output"]["state_kms_key_arn"]["value"] is None


def test_a_log_bucket_for_another_region_is_created_there():
    """S3 delivers access logs within a region: an environment elsewhere gets its log bucket there,
    on an aliased provider of the bootstrap stack."""
    from quantum_constructs.cdk import Testing
    from stacks.bootstrap_stack import BootstrapStack

    staging = dataclasses.replace(ENVIRONMENTS["staging"], region="eu-west-1", allowed_devices=ENVIRONMENTS["dev"].allowed_devices,
                                  spending_limits_usd=None)
    doc = synth_json(BootstrapStack(Testing.app(), BOOTSTRAP, {**ENVIRONMENTS, "staging": staging}))
    logs = resources(doc, "aws_s3_bucket")[bucket_resource(doc, staging.access_log_bucket)]
    assert logs["provider"] == "aws.eu_west_1" and provider_region(doc, logs) == "eu-west-1"
    prod_logs = resources(doc, "aws_s3_bucket")[bucket_resource(doc, ENVIRONMENTS["prod"].access_log_bucket)]
    assert "provider" not in prod_logs
    data = [d for kind in ("aws_caller_identity", "aws_partition", "aws_iam_policy_document")
            for name, d in data_sources(doc, kind).items() if staging.access_log_bucket in name]
    assert data and all(d.get("provider") == "aws.eu_west_1" for d in data)


# -- bad configuration: one line each ---------------------------------------------------------
STATE = BOOTSTRAP.state


@pytest.mark.parametrize("change, message", [
    (dict(create_state_bucket=False, state_access_log_bucket="logs-for-state"),
     "state_access_log_bucket='logs-for-state' is not allowed: expected None when create_state_bucket=False"),
    (dict(state=dataclasses.replace(STATE, kms_key_id="arn:aws:kms:us-east-1:123456789012:key/abc")),
     "state.kms_key_id='arn:aws:kms:us-east-1:123456789012:key/abc' is not allowed: expected a KMS alias 'alias/...' "
     "when create_state_bucket=True"),
    (dict(state=dataclasses.replace(STATE, kms_key_id="alias/aws/s3")), "state.kms_key_id='alias/aws/s3' is not allowed"),
    (dict(state=dataclasses.replace(STATE, bucket="Not_A_Bucket")), "state.bucket='Not_A_Bucket' is not allowed"),
    (dict(state=dataclasses.replace(STATE, region="us-east")), "state.region='us-east' is not allowed"),
    (dict(state_noncurrent_version_days=0), "state_noncurrent_version_days=0 is not allowed"),
    (dict(access_log_retention_days=True), "access_log_retention_days=True is not allowed"),
    (dict(existing_access_log_buckets=["a-list"]), "existing_access_log_buckets=['a-list'] is not allowed: expected a tuple"),
    (dict(state_access_log_bucket=STATE.bucket), f"state_access_log_bucket='{STATE.bucket}' is not allowed"),
    (dict(tags={"Environment": "x"}), "tags=['Environment'] is not allowed"),
])
def test_a_contradictory_bootstrap_config_is_one_line(change, message):
    with pytest.raises(ValueError) as caught:
        dataclasses.replace(BOOTSTRAP, **change)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_configs_that_disagree_with_the_environments_are_one_line():
    staging = ENVIRONMENTS["staging"]
    cases = [
        (dataclasses.replace(BOOTSTRAP, existing_access_log_buckets=("never-named",)), ENVIRONMENTS,
         "existing_access_log_buckets=['never-named'] is not allowed: expected only buckets an environment's access_log_bucket"),
        (BOOTSTRAP, {**ENVIRONMENTS, "staging": dataclasses.replace(
            staging, backend=dataclasses.replace(STATE, key_prefix="elsewhere"))},
         "staging.backend=S3StateBackend("),
        (BOOTSTRAP, {**ENVIRONMENTS, "staging": dataclasses.replace(staging, access_log_bucket=staging.results_bucket_name)},
         f"access_log_bucket='{staging.results_bucket_name}' is not allowed: expected a bucket of its own, not staging's results bucket"),
        (BOOTSTRAP, {**ENVIRONMENTS, "staging": dataclasses.replace(
            staging, access_log_bucket="shared-logs", region="eu-west-1", allowed_devices=ENVIRONMENTS["dev"].allowed_devices,
            spending_limits_usd=None),
            "prod": dataclasses.replace(ENVIRONMENTS["prod"], access_log_bucket="shared-logs")},
         "access_log_bucket='shared-logs' is not allowed: expected one region for all its sources"),
        (BOOTSTRAP, {**ENVIRONMENTS, "bootstrap": dataclasses.replace(staging, name="bootstrap")},
         "environment='bootstrap' is not allowed: expected a name other than the bootstrap stack's"),
    ]
    for bootstrap, environments, message in cases:
        with pytest.raises(ValueError) as caught:
            bootstrap.check(environments)
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value), str(caught.value)
    BOOTSTRAP.check(ENVIRONMENTS)  # the shipped configuration agrees


# -- the constructs on their own -----------------------------------------------------------------
def test_access_log_bucket_grants_compose_and_refuse_conflicts(new_stack):
    stack = new_stack()
    logs = AccessLogBucket(stack, "Logs", bucket_name="team-access-logs", source_buckets=["team-data"])
    assert logs.allow_logging_from("team-data") is False  # twice: nothing new
    assert logs.allow_logging_from("team.data") is True  # reads as the same Sid: a hash tells them apart
    assert logs.allow_logging_from("team-other", "custom/prefix/") is True
    assert logs.sources == {"team-data": "s3-access/team-data/", "team.data": "s3-access/team.data/",
                            "team-other": "custom/prefix/"}
    with pytest.raises(ValueError, match=r"^prefix='other/' is not allowed: expected 's3-access/team-data/'"):
        logs.allow_logging_from("team-data", "other/")
    with pytest.raises(ValueError, match=r"^source='team-access-logs' is not allowed"):
        logs.allow_logging_from("team-access-logs")
    with pytest.raises(ValueError, match=r"^source='unknown' is not allowed"):
        logs.log_prefix("unknown")
    doc = synth_json(stack)
    sids = [s["sid"] for s in only(data_sources(doc, "aws_iam_policy_document"))["statement"]]
    assert len(sids) == len(set(sids)) == 4 and sids[:2] == ["DenyInsecureTransport", "LogDeliveryFromTeamData"]
    assert sids[2].startswith("LogDeliveryFromTeamData") and len(sids[2]) == len("LogDeliveryFromTeamData") + 8


@pytest.mark.parametrize("construct, props, message", [
    (AccessLogBucket, dict(bucket_name="Bad_Name"), "bucket_name='Bad_Name' is not allowed"),
    (AccessLogBucket, dict(bucket_name="logs-x", expire_after_days=0), "expire_after_days=0 is not allowed"),
    (AccessLogBucket, dict(bucket_name="logs-x", noncurrent_version_expiration_days=None),
     "noncurrent_version_expiration_days=None is not allowed"),
    (AccessLogBucket, dict(bucket_name="logs-x", source_buckets="one-bucket"), "source_buckets='one-bucket' is not allowed"),
    (AccessLogBucket, dict(bucket_name="logs-x", prevent_destroy="yes"),
     "prevent_destroy='yes' is not allowed: expected True or False"),
    (AccessLogBucket, dict(bucket_name="logs-x", provider="aws"), "provider='aws' is not allowed"),
    (TerraformStateBucket, dict(bucket_name="x"), "bucket_name='x' is not allowed"),
    (TerraformStateBucket, dict(bucket_name="team-state", key_alias="alias/aws/s3"), "key_alias='alias/aws/s3' is not allowed"),
    (TerraformStateBucket, dict(bucket_name="team-state", key_alias="team-state"), "key_alias='team-state' is not allowed"),
    (TerraformStateBucket, dict(bucket_name="team-state", noncurrent_version_expiration_days=-1),
     "noncurrent_version_expiration_days=-1 is not allowed"),
    (TerraformStateBucket, dict(bucket_name="team-state", noncurrent_versions_to_keep=101),
     "noncurrent_versions_to_keep=101 is not allowed"),
    (TerraformStateBucket, dict(bucket_name="team-state", access_log_bucket="team-state"),
     "access_log_bucket='team-state' is not allowed"),
    (TerraformStateBucket, dict(bucket_name="team-state", access_log_prefix="/abs"), "access_log_prefix='/abs' is not allowed"),
])
def test_bad_props_of_the_bootstrap_constructs_are_one_line(new_stack, construct, props, message):
    with pytest.raises(ValueError) as caught:
        construct(new_stack(), "Bucket", **props)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_access_log_bucket_without_expiry_keeps_logs_and_may_be_destroyed(new_stack):
    stack = new_stack()
    AccessLogBucket(stack, "Logs", bucket_name="team-access-logs", expire_after_days=None, prevent_destroy=False,
                    eventbridge_notifications=False)
    doc = synth_json(stack)
    assert "lifecycle" not in only(resources(doc, "aws_s3_bucket"))
    assert "aws_s3_bucket_notification" not in doc["resource"]
    rules = {r["id"]: r for r in only(resources(doc, "aws_s3_bucket_lifecycle_configuration"))["rule"]}
    assert "expiration" not in rules["expire-access-logs"] and rules["expire-access-logs"]["noncurrent_version_expiration"]


def test_state_bucket_takes_a_named_log_bucket_and_a_provider(new_stack):
    from quantum_constructs.aws.provider import AwsProvider

    stack = new_stack()
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    state = TerraformStateBucket(stack, "State", bucket_name="team-state", access_log_bucket="org-access-logs",
                                 noncurrent_version_expiration_days=30, noncurrent_versions_to_keep=3, provider=eu)
    assert state.key_alias == "alias/team-state" and state.literal_bucket_name == "team-state"
    doc = synth_json(stack)
    logging = only(resources(doc, "aws_s3_bucket_logging"))
    assert logging["target_bucket"] == "org-access-logs" and "depends_on" not in logging
    assert logging["target_prefix"] == "s3-access/team-state/"
    every = [r for kind in doc["resource"].values() for r in kind.values()] + [
        d for kind in doc["data"].values() for d in kind.values()]
    assert every and all(r.get("provider") == "aws.eu" for r in every)
    rule = next(r for r in only(resources(doc, "aws_s3_bucket_lifecycle_configuration"))["rule"]
                if r["id"] == "expire-noncurrent-state-versions")
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30, "newer_noncurrent_versions": 3}]


def test_every_bucket_construct_logs_into_an_access_log_bucket_of_the_same_app(new_stack):
    """A platform team's own composition: results, audit and state buckets given one AccessLogBucket
    object. Each is let in under its own prefix, and its logging waits for the log bucket's policy
    (S3 refuses a logging configuration whose target does not yet accept the logs)."""
    from quantum_constructs import QuantumAuditBucket, QuantumResultsBucket

    stack = new_stack()
    logs = AccessLogBucket(stack, "Logs", bucket_name="team-access-logs")
    sources = [
        QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-team-results", access_log_bucket=logs),
        QuantumAuditBucket(stack, "Audit", bucket_name="team-audit", retention_days=365, access_log_bucket=logs,
                           access_log_prefix="audit-logs/"),
        TerraformStateBucket(stack, "State", bucket_name="team-state", access_log_bucket=logs),
    ]
    assert logs.sources == {"amazon-braket-team-results": "s3-access/amazon-braket-team-results/",
                            "team-audit": "audit-logs/", "team-state": "s3-access/team-state/"}
    doc = synth_json(stack)
    log_bucket = bucket_resource(doc, "team-access-logs")
    log_policy = policy_document(doc, log_bucket)
    for source in sources:
        name = source.literal_bucket_name
        logging = of_bucket(doc, "aws_s3_bucket_logging", bucket_resource(doc, name))
        assert logging["target_bucket"] == "${aws_s3_bucket." + log_bucket + ".bucket}"
        assert logging["target_prefix"] == logs.log_prefix(source)
        assert logging["depends_on"] == ["aws_s3_bucket_policy." + of_bucket_name(doc, "aws_s3_bucket_policy", log_bucket)]
        [grant] = [s for s in log_policy["statement"] if s.get("resources") == [
            "${aws_s3_bucket." + log_bucket + ".arn}/" + logs.log_prefix(source) + "*"]]
        assert grant["principals"] == [{"type": "Service", "identifiers": [LOGGING]}]
        [source_arn] = [c["values"] for c in grant["condition"] if c["variable"] == "aws:SourceArn"]
        assert len(source_arn) == 1 and source_arn[0].endswith(f":s3:::{name}")


@pytest.mark.parametrize("log_bucket", [42, "Bad_Name", "amazon-braket-team-results"])
def test_a_results_bucket_refuses_what_cannot_receive_its_logs_in_one_line(new_stack, log_bucket):
    from quantum_constructs import QuantumResultsBucket

    stack = new_stack()
    with pytest.raises(ValueError) as caught:
        QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-team-results", access_log_bucket=log_bucket)
    message = str(caught.value)
    assert message.startswith(f"access_log_bucket={log_bucket!r} is not allowed: expected None, an AccessLogBucket")
    assert "\n" not in message


def test_a_results_bucket_is_no_access_log_destination(new_stack):
    """Another library bucket has a name but cannot accept logs (KMS default encryption): refused."""
    from quantum_constructs import QuantumResultsBucket

    stack = new_stack()
    other = QuantumResultsBucket(stack, "Other", bucket_name="amazon-braket-team-other")
    with pytest.raises(ValueError, match=r"^access_log_bucket=.* is not allowed: expected None, an AccessLogBucket"):
        QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-team-results", access_log_bucket=other)


def test_the_readme_deploys_the_bootstrap_first_and_no_manual_state_commands_remain():
    """The README's deploy order is the one the stacks need: the bootstrap before every environment
    with an S3 backend or an access-log bucket; every stack it deploys is one main.py writes."""
    import re

    from stacks import STACK_NAMES

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Deploying"):readme.index("### A least-privilege deploy identity")]
    order = re.findall(r"^make deploy ENV=([a-z-]+)", section, re.MULTILINE)
    assert set(order) == set(STACK_NAMES) and order[0] == BOOTSTRAP_STACK
    needs = [n for n, e in ENVIRONMENTS.items() if e.backend is not None or e.access_log_bucket is not None]
    assert needs and all(order.index(BOOTSTRAP_STACK) < order.index(n) for n in needs)
    assert "aws s3api create-bucket" not in readme and "aws kms create-alias" not in readme
