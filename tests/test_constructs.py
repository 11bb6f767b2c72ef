"""Construct-level tests: props in, resources and attributes out."""

import base64
import json

import pytest

from quantum_constructs import (
    JOBS_PREFIX,
    BraketBudget,
    BraketJobsExecutionRole,
    BraketNotebookRole,
    BraketStateChangeAlerts,
    BucketEncryption,
    ExistingNotebookRole,
    QuantumDevNotebook,
    QuantumResultsBucket,
    device_policy_arn,
)
from tests.synth_helpers import data_sources, only, ref, resources, synth_json

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"


def build(new_stack, *, bucket=None, role=None, notebook=None):
    """A stack with the three constructs; each dict overrides that construct's props."""
    stack = new_stack()
    results = QuantumResultsBucket(stack, "Results", **{"bucket_name": "amazon-braket-unit-test", **(bucket or {})})
    notebook_role = BraketNotebookRole(stack, "Role", **{"allowed_device_arns": [SV1], **(role or {})})
    dev_notebook = QuantumDevNotebook(
        stack,
        "Notebook",
        **{"notebook_name": "amazon-braket-unit", "role": notebook_role, "results_bucket": results, **(notebook or {})},
    )
    return stack, results, notebook_role, dev_notebook


def policy_document(doc, reference: str) -> dict:
    return data_sources(doc, "aws_iam_policy_document")[reference.split(".")[2]]


def role_policies(doc) -> dict[str, dict]:
    return {p["name"]: policy_document(doc, p["policy"]) for p in resources(doc, "aws_iam_role_policy").values()}


# -- QuantumResultsBucket ------------------------------------------------------


def test_bucket_defaults_kms_versioning_no_logging_no_force_destroy(new_stack):
    stack, results, *_ = build(new_stack)
    doc = synth_json(stack)
    bucket = only(resources(doc, "aws_s3_bucket"))
    assert bucket == {**bucket, "bucket": "amazon-braket-unit-test", "force_destroy": False}
    assert only(resources(doc, "aws_kms_key"))["enable_key_rotation"] is True
    assert "aws_s3_bucket_logging" not in doc["resource"]
    notification = only(resources(doc, "aws_s3_bucket_notification"))
    assert notification["eventbridge"] is True and notification["bucket"] == ref(doc, "aws_s3_bucket", "id")
    assert results.results_prefix == "results"
    assert results.kms_key_arn is not None
    rules = only(resources(doc, "aws_s3_bucket_lifecycle_configuration"))["rule"]
    assert [r["id"] for r in rules] == ["abort-incomplete-multipart-uploads"]
    assert rules[0]["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]


def test_bucket_sse_s3_retention_logging_and_force_destroy(new_stack):
    stack, results, *_ = build(
        new_stack,
        bucket={
            "encryption": BucketEncryption.S3_MANAGED,
            "transition_to_ia_days": 30,
            "expire_after_days": 90,
            "access_log_bucket": "central-access-logs",
            "force_destroy": True,
            "results_prefix": "tasks/braket",
        },
    )
    doc = synth_json(stack)
    assert "aws_kms_key" not in doc["resource"] and results.kms_key_arn is None
    sse = only(resources(doc, "aws_s3_bucket_server_side_encryption_configuration"))["rule"][0]
    assert sse["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    assert only(resources(doc, "aws_s3_bucket"))["force_destroy"] is True
    logging = only(resources(doc, "aws_s3_bucket_logging"))
    assert logging["target_bucket"] == "central-access-logs"
    assert logging["target_prefix"] == "s3-access/amazon-braket-unit-test/"
    retention = only(resources(doc, "aws_s3_bucket_lifecycle_configuration"))["rule"][1]
    assert retention["filter"] == [{"prefix": "tasks/braket/"}]
    assert retention["transition"] == [{"days": 30, "storage_class": "STANDARD_IA"}]
    assert retention["expiration"] == [{"days": 90}]
    assert retention["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]


def test_grant_read_write_is_scoped_to_the_results_prefix_and_key(new_stack):
    stack, *_ = build(new_stack)
    doc = synth_json(stack)
    # The grant joins the role's one policy; its Sids name the bucket's construct ("Results").
    [policy] = resources(doc, "aws_iam_role_policy").values()
    assert policy["name"] == "braket-least-privilege" and policy["role"] == ref(doc, "aws_iam_role", "name")
    statements = {s["sid"]: s for s in role_policies(doc)["braket-least-privilege"]["statement"]}
    assert statements["ResultsObjects"]["resources"] == [ref(doc, "aws_s3_bucket", "arn") + "/results/*"]
    assert "s3:PutObject" in statements["ResultsObjects"]["actions"]
    assert statements["ResultsListing"]["condition"][0]["values"] == ["results", "results/*"]
    assert statements["ResultsKeyViaS3"]["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    [via] = statements["ResultsKeyViaS3"]["condition"]
    assert via["variable"] == "kms:ViaService" and via["values"][0].startswith("s3.${data.aws_region.")
    assert statements["ResultsBucketLocation"]["actions"] == ["s3:GetBucketLocation"]


# -- BraketNotebookRole --------------------------------------------------------


def test_role_allows_creation_only_on_given_devices_and_exposes_arn(new_stack):
    stack, _, role, _ = build(new_stack, role={"allowed_device_arns": [FORTE, SV1, SV1]})
    doc = synth_json(stack)
    assert role.allowed_device_arns == (SV1, FORTE)
    assert role.role_arn.startswith("${") and role.role_name.startswith("${")
    statements = {s["sid"]: s for s in role_policies(doc)["braket-least-privilege"]["statement"]}
    # IAM evaluates device ARNs with the account: '*' for it, and for a simulator's region.
    assert statements["CreateOnAllowedDevices"]["resources"][:2] == [
        "arn:aws:braket:*:*:device/quantum-simulator/amazon/sv1",
        "arn:aws:braket:us-east-1:*:device/qpu/ionq/Forte-1",
    ]
    [describe] = statements["DescribeDevices"]["resources"]
    assert describe.startswith("arn:${data.aws_partition.") and describe.endswith("}:braket:*:*:device/*")
    assert only(resources(doc, "aws_iam_role"))["force_detach_policies"] is True
    assert statements["DenyCreateOnOtherDevices"]["not_resources"] == statements["CreateOnAllowedDevices"]["resources"]
    assert "aws_iam_role_policy_attachment" not in doc["resource"]
    name = only(resources(doc, "aws_iam_role"))["name"]
    assert name == "AmazonBraketServiceSageMakerNotebookRole-test-Role"


@pytest.mark.parametrize(
    "sdk_arn, policy_arn",
    [
        ("arn:aws:braket:::device/quantum-simulator/amazon/sv1", "arn:aws:braket:*:*:device/quantum-simulator/amazon/sv1"),
        ("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", "arn:aws:braket:us-east-1:*:device/qpu/ionq/Forte-1"),
        ("arn:aws-cn:braket:cn-north-1::device/qpu/x/y", "arn:aws-cn:braket:cn-north-1:*:device/qpu/x/y"),
    ],
)
def test_device_policy_arn_puts_a_wildcard_where_iam_sees_the_account(sdk_arn, policy_arn):
    assert device_policy_arn(sdk_arn) == policy_arn


@pytest.mark.parametrize("bad", ["sv1", "arn:aws:braket::123456789012:device/qpu/ionq/Forte-1", None])
def test_device_policy_arn_refuses_what_is_not_an_sdk_device_arn(bad):
    with pytest.raises(ValueError, match=r"device_arn=.* is not allowed: expected a Braket device ARN"):
        device_policy_arn(bad)


def test_role_can_opt_into_the_managed_full_access_policy(new_stack):
    stack, *_ = build(new_stack, role={"attach_braket_full_access": True, "role_name": "AmazonBraketServiceSageMakerNotebookRole-x"})
    doc = synth_json(stack)
    attachment = only(resources(doc, "aws_iam_role_policy_attachment"))
    assert attachment["policy_arn"].endswith(":iam::aws:policy/AmazonBraketFullAccess")
    assert only(resources(doc, "aws_iam_role"))["name"] == "AmazonBraketServiceSageMakerNotebookRole-x"


# -- QuantumDevNotebook --------------------------------------------------------


def decoded(lifecycle: dict, key: str) -> str:
    return base64.b64decode(lifecycle[key]).decode()


def test_notebook_defaults_and_lifecycle_scripts(new_stack):
    stack, _, _, notebook = build(new_stack)
    doc = synth_json(stack)
    instance = only(resources(doc, "aws_sagemaker_notebook_instance"))
    assert instance["instance_type"] == "ml.t3.medium"
    assert instance["direct_internet_access"] == "Enabled"
    assert instance["kms_key_id"] == ref(doc, "aws_kms_key", "arn")
    assert instance["root_access"] == "Disabled"
    assert notebook.notebook_name.startswith("${") and notebook.notebook_arn.startswith("${")
    lifecycle = only(resources(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration"))
    assert 'BRAKET_SDK_VERSION="1.127.5"' in decoded(lifecycle, "on_create")
    on_start = decoded(lifecycle, "on_start")
    outputs = json.loads(on_start.split("<<'JSON'\n")[1].split("\nJSON\n")[0])
    assert outputs["results_bucket_name"] == "amazon-braket-unit-test"
    assert outputs["allowed_devices"] == [SV1]
    assert 'IDLE_STOP_MINUTES="60"' in on_start
    assert "jobs_role_arn" not in outputs and "jobs_prefix" not in outputs  # no jobs_role given
    for runtime in ("__RUNTIME_REGION__", "__RUNTIME_ACCOUNT__", "__RUNTIME_PARTITION__"):  # filled in on the instance
        on_start = on_start.replace(runtime, "")
    assert "__" not in on_start
    self_stop = {s["sid"]: s for s in role_policies(doc)["braket-least-privilege"]["statement"]}["StopNotebookWhenIdle"]
    assert self_stop["actions"] == ["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"]
    assert self_stop["resources"] == [ref(doc, "aws_sagemaker_notebook_instance", "arn")]


def test_notebook_in_a_vpc_without_auto_stop(new_stack):
    stack, *_ = build(
        new_stack,
        notebook={
            "subnet_id": "subnet-0abc",
            "security_group_ids": ["sg-0abc"],
            "idle_stop_minutes": 0,
            "instance_type": "ml.m5.xlarge",
            "volume_size_gb": 50,
        },
    )
    doc = synth_json(stack)
    instance = only(resources(doc, "aws_sagemaker_notebook_instance"))
    assert instance["direct_internet_access"] == "Disabled"
    assert instance["subnet_id"] == "subnet-0abc" and instance["security_groups"] == ["sg-0abc"]
    assert instance["instance_type"] == "ml.m5.xlarge" and instance["volume_size"] == 50
    assert not [s for s in role_policies(doc)["braket-least-privilege"]["statement"] if "WhenIdle" in s["sid"]]
    on_start = decoded(only(resources(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration")), "on_start")
    assert 'IDLE_STOP_MINUTES="0"' in on_start


def test_lifecycle_scripts_fit_sagemaker_limit(new_stack):
    stack, *_ = build(new_stack)
    lifecycle = only(resources(synth_json(stack), "aws_sagemaker_notebook_instance_lifecycle_configuration"))
    for key in ("on_create", "on_start"):
        assert len(lifecycle[key]) <= 16384, key  # SageMaker's limit on each base64 script


# -- composition: shared roles, unique names, providers -----------------------------


def statements_of(doc) -> dict[str, dict]:
    [policy] = resources(doc, "aws_iam_role_policy").values()
    return {s["sid"]: s for s in policy_document(doc, policy["policy"])["statement"]}


def test_one_role_for_two_notebooks_and_two_buckets_has_one_policy_with_every_grant(new_stack):
    stack = new_stack()
    role = BraketNotebookRole(stack, "Shared", allowed_device_arns=[SV1])
    for team in ("A", "B"):
        bucket = QuantumResultsBucket(stack, f"Results{team}", bucket_name=f"amazon-braket-team-{team.lower()}")
        QuantumDevNotebook(stack, f"Notebook{team}", notebook_name=f"amazon-braket-{team.lower()}", role=role,
                           results_bucket=bucket)
    doc = synth_json(stack)
    sids = statements_of(doc)  # exactly one inline policy on the role
    for team in ("A", "B"):
        assert sids[f"Results{team}Objects"]["resources"][0].startswith("${aws_s3_bucket.Results" + team)
        assert f"StopNotebook{team}WhenIdle" in sids


def test_granting_twice_changes_nothing_and_a_clashing_sid_is_refused(new_stack):
    stack, results, role, _ = build(new_stack)
    before = statements_of(synth_json(stack))
    assert results.grant_read_write(role) is False
    assert statements_of(synth_json(stack)) == before
    from quantum_constructs.aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement

    assert role.add_to_policy(DataAwsIamPolicyDocumentStatement(sid="Extra", actions=["s3:ListAllMyBuckets"], resources=["*"]))
    with pytest.raises(ValueError, match=r"statement.sid='Extra' is not allowed: expected a Sid not used by another statement"):
        role.add_to_policy(DataAwsIamPolicyDocumentStatement(sid="Extra", actions=["s3:GetObject"], resources=["*"]))
    assert "Extra" in statements_of(synth_json(stack))


def test_a_wrapper_used_twice_gives_distinct_role_names(new_stack):
    from constructs import Construct

    class Team(Construct):
        def __init__(self, scope, id):
            super().__init__(scope, id)
            self.role = BraketNotebookRole(self, "Role", allowed_device_arns=[SV1])

    stack = new_stack("research")
    Team(stack, "Alpha"), Team(stack, "Beta")
    names = sorted(r["name"] for r in resources(synth_json(stack), "aws_iam_role").values())
    assert names == ["AmazonBraketServiceSageMakerNotebookRole-research-Alpha-Role",
                     "AmazonBraketServiceSageMakerNotebookRole-research-Beta-Role"]


def test_long_paths_are_cut_with_a_hash_so_names_stay_distinct(new_stack):
    stack = new_stack("a-very-long-stack-name-for-the-quantum-research-platform")
    for id in ("NotebookRoleForTeamOne", "NotebookRoleForTeamTwo"):
        BraketNotebookRole(stack, id, allowed_device_arns=[SV1])
    names = [r["name"] for r in resources(synth_json(stack), "aws_iam_role").values()]
    assert len(set(names)) == 2 and all(len(n) <= 64 and n.startswith("AmazonBraketServiceSageMakerNotebookRole-") for n in names)


def test_an_aliased_provider_reaches_every_resource_and_data_source(new_stack):
    from quantum_constructs.aws.provider import AwsProvider

    stack = new_stack()
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-eu-results", provider=eu)
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1], provider=eu)
    QuantumDevNotebook(stack, "Notebook", notebook_name="amazon-braket-eu", role=role, results_bucket=bucket, provider=eu)
    QuantumResultsBucket(stack, "HomeResults", bucket_name="amazon-braket-home-results")  # the default provider
    doc = synth_json(stack)
    blocks = [(name, block) for section in ("resource", "data") for kind in doc[section].values()
              for name, block in kind.items()]
    assert blocks
    for name, block in blocks:
        expected = None if name.startswith("HomeResults") else "aws.eu"
        assert block.get("provider") == expected, name


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda s: QuantumResultsBucket(s, "R", bucket_name="amazon-braket-x", provider="aws.eu"), r"provider='aws.eu' .* AwsProvider"),
        (lambda s: QuantumDevNotebook(s, "N", notebook_name="amazon-braket-x", role="arn:aws:iam::1:role/x",
                                      results_bucket=QuantumResultsBucket(s, "R", bucket_name="amazon-braket-x")),
         r"role='arn:aws:iam::1:role/x' .* a BraketNotebookRole"),
        (lambda s: QuantumResultsBucket(s, "R", bucket_name="amazon-braket-x").grant_read_write("my-role"),
         r"role='my-role' .* add_to_policy"),
    ],
)
def test_wrong_kinds_of_objects_are_one_clear_error(new_stack, make, message):
    with pytest.raises(ValueError, match=message):
        make(new_stack())


# -- what a bank needs -----------------------------------------------------------------


def test_an_existing_kms_key_a_permissions_boundary_and_an_internal_mirror(new_stack):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    boundary = "arn:aws:iam::123456789012:policy/QuantumBoundary"
    stack, results, role, _ = build(
        new_stack,
        bucket={"kms_key_arn": key},
        role={"permissions_boundary": boundary},
        notebook={"pip_index_url": "https://pypi.internal.example/simple"},
    )
    doc = synth_json(stack)
    assert "aws_kms_key" not in doc["resource"] and results.kms_key is None and results.kms_key_arn == key
    [rule] = only(resources(doc, "aws_s3_bucket_server_side_encryption_configuration"))["rule"]
    assert rule["apply_server_side_encryption_by_default"]["kms_master_key_id"] == key
    assert statements_of(doc)["ResultsKeyViaS3"]["resources"] == [key]
    assert only(resources(doc, "aws_iam_role"))["permissions_boundary"] == boundary
    instance = only(resources(doc, "aws_sagemaker_notebook_instance"))
    assert instance["kms_key_id"] == key
    on_create = decoded(only(resources(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration")), "on_create")
    assert 'PACKAGE_INDEX="https://pypi.internal.example/simple"' in on_create


def test_the_sdk_install_can_be_skipped(new_stack):
    stack, *_ = build(new_stack, notebook={"braket_sdk_version": None})
    on_create = decoded(only(resources(synth_json(stack), "aws_sagemaker_notebook_instance_lifecycle_configuration")), "on_create")
    assert 'BRAKET_SDK_VERSION=""' in on_create


@pytest.mark.parametrize(
    "part, props, message",
    [
        ("bucket", {"kms_key_arn": "alias/mine"}, r"kms_key_arn='alias/mine' .* KMS key ARN"),
        ("bucket", {"kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/x", "encryption": BucketEncryption.S3_MANAGED},
         r"kms_key_arn=.* only with encryption=BucketEncryption.KMS"),
        ("role", {"permissions_boundary": "QuantumBoundary"}, r"permissions_boundary='QuantumBoundary' .* managed policy ARN"),
        ("notebook", {"pip_index_url": "https://x/simple'; rm -rf /"}, r"pip_index_url=.* http\(s\) URL"),
        ("notebook", {"pip_index_url": "ftp://mirror/simple"}, r"pip_index_url='ftp://mirror/simple'"),
    ],
)
def test_bank_props_are_validated(new_stack, part, props, message):
    with pytest.raises(ValueError, match=message):
        build(new_stack, **{part: props})


def test_a_centrally_managed_role_gets_its_policy_collected_not_created(new_stack):
    arn = "arn:aws:iam::123456789012:role/service-role/AmazonBraketServiceSageMakerNotebookRole-central"
    for attach in (False, True):
        stack = new_stack()
        role = ExistingNotebookRole(stack, "Central", role_arn=arn, allowed_device_arns=[SV1], attach_policy=attach)
        bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-central")
        QuantumDevNotebook(stack, "Notebook", notebook_name="amazon-braket-central", role=role, results_bucket=bucket)
        doc = synth_json(stack)
        assert "aws_iam_role" not in doc["resource"]
        assert only(resources(doc, "aws_sagemaker_notebook_instance"))["role_arn"] == arn
        sids = {s["sid"] for s in data_sources(doc, "aws_iam_policy_document")[
            next(n for n in data_sources(doc, "aws_iam_policy_document") if n.startswith("Central_PolicyDocument"))]["statement"]}
        assert {"CreateOnAllowedDevices", "ResultsObjects", "StopNotebookWhenIdle"} <= sids
        policies = resources(doc, "aws_iam_role_policy")
        assert ([p["role"] for p in policies.values()] == ["AmazonBraketServiceSageMakerNotebookRole-central"]) is attach
        assert role.policy_json.startswith("${")


def test_an_existing_role_is_given_by_arn(new_stack):
    with pytest.raises(ValueError, match=r"role_arn='NotebookRole' .* IAM role ARN"):
        ExistingNotebookRole(new_stack(), "Central", role_arn="NotebookRole", allowed_device_arns=[SV1])
    with pytest.raises(ValueError, match=r"allowed_device_arns='arn:aws:braket:::device/quantum-simulator/amazon/sv1' .* non-empty list"):
        ExistingNotebookRole(new_stack(), "Central", role_arn="arn:aws:iam::123456789012:role/x", allowed_device_arns=SV1)


# -- QuantumResultsBucket.grant_read_write(prefix=) -------------------------------------------


def test_a_second_prefix_gets_its_own_sids_and_shares_the_bucket_and_key_statements(new_stack):
    stack, results, role, _ = build(new_stack)
    assert results.grant_read_write(role, prefix="jobs") is True
    assert results.grant_read_write(role, prefix="jobs") is False  # twice: nothing changes
    assert results.grant_read_write(role, prefix="tasks/braket") is True
    statements = statements_of(synth_json(stack))
    bucket = "${aws_s3_bucket." + next(iter(resources(synth_json(stack), "aws_s3_bucket"))) + ".arn}"
    assert statements["ResultsJobsObjects"]["resources"] == [bucket + "/jobs/*"]
    assert statements["ResultsJobsListing"]["condition"][0]["values"] == ["jobs", "jobs/*"]
    assert statements["ResultsTasksBraketObjects"]["resources"] == [bucket + "/tasks/braket/*"]
    assert statements["ResultsObjects"]["resources"] == [bucket + "/results/*"]  # the results prefix keeps its Sids
    assert [sid for sid in statements if sid.endswith(("BucketLocation", "KeyViaS3"))] == ["ResultsBucketLocation", "ResultsKeyViaS3"]


@pytest.mark.parametrize("prefix", ["/jobs", "jobs/", "", 7])
def test_a_granted_prefix_is_validated(new_stack, prefix):
    stack, results, role, _ = build(new_stack)
    with pytest.raises(ValueError, match=r"prefix=.* is not allowed: expected None \(the results prefix\) or a relative S3 key prefix"):
        results.grant_read_write(role, prefix=prefix)


# -- BraketJobsExecutionRole -------------------------------------------------------------------


def jobs_stack(new_stack, **props):
    stack = new_stack()
    results = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-unit-test")
    notebook_role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1])
    jobs = BraketJobsExecutionRole(stack, "Jobs", **{"allowed_device_arns": [FORTE, SV1], "results_bucket": results, **props})
    return stack, results, notebook_role, jobs


def role_named(doc, prefix: str) -> tuple[str, dict]:
    [(name, role)] = [(n, r) for n, r in resources(doc, "aws_iam_role").items() if r["name"].startswith(prefix)]
    return name, role


def jobs_statements(doc) -> dict[str, dict]:
    name, _ = role_named(doc, "AmazonBraketJobsExecutionRole")
    [policy] = [p for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == "${aws_iam_role." + name + ".name}"]
    assert policy["name"] == "braket-least-privilege"
    return {s["sid"]: s for s in policy_document(doc, policy["policy"])["statement"]}


def conditions_of(statement: dict) -> dict[tuple[str, str], list[str]]:
    return {(c["test"], c["variable"]): c["values"] for c in statement.get("condition", [])}


def test_jobs_role_is_a_braket_service_role_trusted_for_this_accounts_jobs_only(new_stack):
    stack, _, _, jobs = jobs_stack(new_stack)
    doc = synth_json(stack)
    name, role = role_named(doc, "AmazonBraketJobsExecutionRole")
    assert role["name"] == "AmazonBraketJobsExecutionRole-test-Jobs" and role["path"] == "/service-role/"
    assert role["force_detach_policies"] is True and "permissions_boundary" not in role
    [trust] = policy_document(doc, role["assume_role_policy"])["statement"]
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["braket.amazonaws.com"]}]
    found = conditions_of(trust)
    [account] = found[("StringEquals", "aws:SourceAccount")]
    assert account.startswith("${data.aws_caller_identity.Jobs_Account")
    [source] = found[("ArnLike", "aws:SourceArn")]
    assert source.endswith(f":braket:${{data.aws_region.{next(n for n in data_sources(doc, 'aws_region') if n.startswith('Jobs'))}.region}}:{account}:job/*")
    assert jobs.role_arn == jobs.role_arn and jobs.role_arn.startswith("${")  # one token: grants compare equal
    assert jobs.role_name.startswith("${") and jobs.policy_json.startswith("${")
    assert jobs.literal_role_name == "AmazonBraketJobsExecutionRole-test-Jobs"
    assert jobs.jobs_prefix == JOBS_PREFIX == "jobs"
    assert jobs.allowed_device_arns == (SV1, FORTE)
    assert type(jobs.role).__name__ == "IamRole"


def test_jobs_role_statements_each_scoped(new_stack):
    stack, _, _, _ = jobs_stack(new_stack)
    doc = synth_json(stack)
    statements = jobs_statements(doc)
    devices = ["arn:aws:braket:*:*:device/quantum-simulator/amazon/sv1", "arn:aws:braket:us-east-1:*:device/qpu/ionq/Forte-1"]
    create = statements["CreateTasksOnAllowedDevices"]
    assert create["actions"] == ["braket:CreateQuantumTask"]
    assert create["resources"][:2] == devices and create["resources"][2].endswith(":quantum-task/*")
    deny = statements["DenyCreateTasksOnOtherDevices"]
    assert deny["effect"] == "Deny" and deny["not_resources"] == create["resources"] and deny["actions"] == create["actions"]
    assert statements["ManageOwnTasks"]["actions"] == ["braket:GetQuantumTask", "braket:CancelQuantumTask", "braket:TagResource"]
    assert statements["ManageOwnTasks"]["resources"] == [create["resources"][2]]
    assert statements["DescribeAllowedDevices"] == {**statements["DescribeAllowedDevices"], "actions": ["braket:GetDevice"], "resources": devices}
    assert statements["SearchTasks"]["actions"] == ["braket:SearchQuantumTasks"] and statements["SearchTasks"]["resources"] == ["*"]
    [logs] = statements["JobLogs"]["resources"]
    assert logs.endswith(":log-group:/aws/braket*") and ":logs:${data.aws_region." in logs
    assert statements["JobMetrics"]["resources"] == ["*"]
    assert conditions_of(statements["JobMetrics"]) == {("StringEquals", "cloudwatch:namespace"): ["/aws/braket"]}
    assert statements["EcrLogin"]["actions"] == ["ecr:GetAuthorizationToken"] and statements["EcrLogin"]["resources"] == ["*"]
    pull = statements["PullBraketJobImages"]
    assert pull["actions"] == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    [repositories] = pull["resources"]
    assert repositories.endswith(":ecr:*:*:repository/amazon-braket*")
    bucket = "${aws_s3_bucket." + next(iter(resources(doc, "aws_s3_bucket"))) + ".arn}"
    assert statements["ResultsJobsObjects"]["resources"] == [bucket + "/jobs/*"]
    assert statements["ResultsJobsListing"]["condition"][0]["values"] == ["jobs", "jobs/*"]
    assert statements["ResultsKeyViaS3"]["condition"][0]["variable"] == "kms:ViaService"
    assert "ResultsObjects" not in statements and "ResultsListing" not in statements  # never the results prefix


def test_jobs_role_allows_nothing_else(new_stack):
    stack, *_ = jobs_stack(new_stack)
    statements = jobs_statements(synth_json(stack))
    assert sorted(statements) == sorted([
        "CreateTasksOnAllowedDevices", "DenyCreateTasksOnOtherDevices", "ManageOwnTasks", "DescribeAllowedDevices",
        "SearchTasks", "JobLogs", "JobMetrics", "EcrLogin", "PullBraketJobImages",
        "ResultsJobsObjects", "ResultsJobsListing", "ResultsBucketLocation", "ResultsKeyViaS3",
        "ReadSpendingLimits", "DenySpendingLimitChanges",
    ])
    allowed = {a for s in statements.values() if s.get("effect", "Allow") == "Allow" for a in s["actions"]}
    assert "braket:CreateJob" not in allowed and not {a for a in allowed if a.startswith(("iam:", "sts:"))}
    assert all(
        s.get("effect", "Allow") == "Allow" or s["sid"] in {"DenyCreateTasksOnOtherDevices", "DenySpendingLimitChanges"}
        for s in statements.values()
    )


def test_grant_pass_role_lets_the_notebook_role_pass_only_the_jobs_role_only_to_braket(new_stack):
    stack, _, notebook_role, jobs = jobs_stack(new_stack)
    assert jobs.grant_pass_role(notebook_role) is True
    assert jobs.grant_pass_role(notebook_role) is False  # granting twice: no change
    doc = synth_json(stack)
    name, _ = role_named(doc, "AmazonBraketServiceSageMakerNotebookRole")
    [policy] = [p for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == "${aws_iam_role." + name + ".name}"]
    statements = {s["sid"]: s for s in policy_document(doc, policy["policy"])["statement"]}
    jobs_name, _ = role_named(doc, "AmazonBraketJobsExecutionRole")
    passing = statements["PassJobsToBraket"]
    assert passing["actions"] == ["iam:PassRole"] and passing["resources"] == ["${aws_iam_role." + jobs_name + ".arn}"]
    assert conditions_of(passing) == {("StringEquals", "iam:PassedToService"): ["braket.amazonaws.com"]}
    assert {"ResultsJobsObjects", "ResultsJobsListing"} <= set(statements)  # upload sources, read outputs
    logs = statements["ReadJobsLogs"]  # AwsQuantumJob.logs()
    assert logs["actions"] == ["logs:DescribeLogStreams", "logs:GetLogEvents"]
    [group] = logs["resources"]
    assert group.endswith(":log-group:/aws/braket/jobs:*") and ":logs:${data.aws_region.Jobs_Region" in group


def test_grant_pass_role_works_for_an_existing_notebook_role(new_stack):
    stack = new_stack()
    results = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-central")
    central = ExistingNotebookRole(stack, "Central", role_arn="arn:aws:iam::123456789012:role/service-role/x",
                                   allowed_device_arns=[SV1], attach_policy=True)
    jobs = BraketJobsExecutionRole(stack, "Jobs", allowed_device_arns=[SV1], results_bucket=results)
    assert jobs.grant_pass_role(central) is True
    doc = synth_json(stack)
    sids = {s["sid"] for s in data_sources(doc, "aws_iam_policy_document")[
        next(n for n in data_sources(doc, "aws_iam_policy_document") if n.startswith("Central_PolicyDocument"))]["statement"]}
    assert {"PassJobsToBraket", "ResultsJobsObjects"} <= sids


def test_grant_pass_role_refuses_what_cannot_hold_it(new_stack):
    _, _, _, jobs = jobs_stack(new_stack)
    with pytest.raises(ValueError, match=r"role='arn:aws:iam::1:role/x' .* add_to_policy"):
        jobs.grant_pass_role("arn:aws:iam::1:role/x")
    with pytest.raises(ValueError, match=r"role=.* another role than the jobs role itself"):
        jobs.grant_pass_role(jobs)


def test_a_notebook_with_a_jobs_role_may_pass_it_and_names_it_in_its_outputs(new_stack):
    stack = new_stack()
    results = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-unit-test")
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1])
    jobs = BraketJobsExecutionRole(stack, "Jobs", allowed_device_arns=[SV1], results_bucket=results)
    QuantumDevNotebook(stack, "Notebook", notebook_name="amazon-braket-unit", role=role, results_bucket=results, jobs_role=jobs)
    doc = synth_json(stack)
    on_start = decoded(only(resources(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration")), "on_start")
    outputs = json.loads(on_start.split("<<'JSON'\n")[1].split("\nJSON\n")[0])
    assert outputs["jobs_prefix"] == "jobs"
    assert outputs["jobs_role_arn"] == "arn:__RUNTIME_PARTITION__:iam::__RUNTIME_ACCOUNT__:role/service-role/AmazonBraketJobsExecutionRole-test-Jobs"
    assert "PassJobsToBraket" in statements_of_role(doc, "AmazonBraketServiceSageMakerNotebookRole")
    with pytest.raises(ValueError, match=r"jobs_role='arn:aws:iam::1:role/x' .* a BraketJobsExecutionRole"):
        QuantumDevNotebook(stack, "Other", notebook_name="amazon-braket-other", role=role, results_bucket=results,
                           jobs_role="arn:aws:iam::1:role/x")


def statements_of_role(doc, prefix: str) -> dict[str, dict]:
    name, _ = role_named(doc, prefix)
    [policy] = [p for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == "${aws_iam_role." + name + ".name}"]
    return {s["sid"]: s for s in policy_document(doc, policy["policy"])["statement"]}


def test_jobs_role_name_boundary_and_long_paths(new_stack):
    boundary = "arn:aws:iam::123456789012:policy/QuantumBoundary"
    stack, *_ = jobs_stack(new_stack, role_name="AmazonBraketJobsExecutionRole-research", permissions_boundary=boundary)
    _, role = role_named(synth_json(stack), "AmazonBraketJobsExecutionRole")
    assert role["name"] == "AmazonBraketJobsExecutionRole-research" and role["permissions_boundary"] == boundary
    stack = new_stack("a-very-long-stack-name-for-the-quantum-research-platform")
    results = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-long")
    for id in ("JobsExecutionRoleForTeamOne", "JobsExecutionRoleForTeamTwo"):
        BraketJobsExecutionRole(stack, id, allowed_device_arns=[SV1], results_bucket=results)
    names = [r["name"] for r in resources(synth_json(stack), "aws_iam_role").values()]
    assert len(set(names)) == 2 and all(len(n) <= 64 and n.startswith("AmazonBraketJobsExecutionRole-") for n in names)


@pytest.mark.parametrize(
    "props, message",
    [
        ({"allowed_device_arns": []}, r"allowed_device_arns=\[\] is not allowed: expected a non-empty list"),
        ({"allowed_device_arns": ["sv1"]}, r"allowed_device_arns='sv1' .* Braket device ARNs"),
        ({"results_bucket": "amazon-braket-unit-test"}, r"results_bucket='amazon-braket-unit-test' .* a QuantumResultsBucket"),
        ({"role_name": "JobsRole"}, r"role_name='JobsRole' .* starting with 'AmazonBraketJobsExecutionRole'"),
        ({"role_name": "AmazonBraketJobsExecutionRole-" + "x" * 40}, r"role_name='AmazonBraketJobsExecutionRole-x+' .* \(1-64 of"),
        ({"permissions_boundary": "QuantumBoundary"}, r"permissions_boundary='QuantumBoundary' .* managed policy ARN"),
        ({"provider": "aws.eu"}, r"provider='aws.eu' .* AwsProvider"),
    ],
)
def test_jobs_role_props_are_validated(new_stack, props, message):
    with pytest.raises(ValueError, match=message):
        jobs_stack(new_stack, **props)


def test_an_aliased_provider_reaches_the_jobs_role_and_the_alerts(new_stack):
    from quantum_constructs.aws.provider import AwsProvider

    stack = new_stack()
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    results = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-eu-results", provider=eu)
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1], provider=eu)
    BraketJobsExecutionRole(stack, "Jobs", allowed_device_arns=[SV1], results_bucket=results, provider=eu)
    budget = BraketBudget(stack, "Budget", budget_name="braket-eu", monthly_limit_usd=10, role=role, provider=eu)
    BraketStateChangeAlerts(stack, "Alerts", budget=budget, provider=eu)
    doc = synth_json(stack)
    blocks = [(name, block) for section in ("resource", "data") for kind in doc[section].values()
              for name, block in kind.items() if name.startswith(("Jobs", "Alerts"))]
    assert len(blocks) >= 8
    assert all(block.get("provider") == "aws.eu" for _, block in blocks), blocks


# -- BraketStateChangeAlerts -------------------------------------------------------------------


def alerts_stack(new_stack, **props):
    stack = new_stack()
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1])
    budget = BraketBudget(stack, "Budget", budget_name="braket-unit", monthly_limit_usd=10, role=role)
    alerts = BraketStateChangeAlerts(stack, "Alerts", **{"budget": budget, **props})
    return stack, budget, alerts


def test_alerts_rule_matches_final_states_of_this_accounts_jobs_and_tasks(new_stack):
    stack, budget, alerts = alerts_stack(new_stack)
    doc = synth_json(stack)
    rule = only(resources(doc, "aws_cloudwatch_event_rule"))
    assert rule["name"] == "braket-state-changes-test-Alerts" and rule["state"] == "ENABLED"
    pattern = json.loads(rule["event_pattern"])
    [account] = pattern.pop("account")
    assert account.startswith("${data.aws_caller_identity.Alerts_Account")
    assert pattern == {
        "source": ["aws.braket"],
        "detail-type": ["Braket Job State Change", "Braket Task State Change"],
        "detail": {"status": ["COMPLETED", "FAILED", "CANCELLED"]},
    }
    target = only(resources(doc, "aws_cloudwatch_event_target"))
    assert target["arn"] == ref(doc, "aws_sns_topic", "arn") and target["rule"] == ref(doc, "aws_cloudwatch_event_rule", "name")
    assert "role_arn" not in target
    topic = {s["sid"]: s for s in policy_document(doc, only(resources(doc, "aws_sns_topic_policy"))["policy"])["statement"]}
    assert topic["AlertsPublishes"]["actions"] == ["SNS:Publish"] and conditions_of(topic["AlertsPublishes"]) == {}
    key = {s["sid"]: s for s in policy_document(doc, only(resources(doc, "aws_kms_key"))["policy"])["statement"]}
    assert set(conditions_of(key["AlertsEncryptsForTheTopic"])) == {("StringEquals", "kms:EncryptionContext:aws:sns:topicArn")}
    assert alerts.rule_arn.startswith("${") and alerts.rule_name.startswith("${")
    assert alerts.event_pattern["detail"] == {"status": ["COMPLETED", "FAILED", "CANCELLED"]}


def test_alerts_on_hybrid_jobs_only_and_a_named_rule(new_stack):
    stack, *_ = alerts_stack(new_stack, quantum_tasks=False, rule_name="braket-jobs-done")
    rule = only(resources(synth_json(stack), "aws_cloudwatch_event_rule"))
    assert rule["name"] == "braket-jobs-done"
    assert json.loads(rule["event_pattern"])["detail-type"] == ["Braket Job State Change"]


@pytest.mark.parametrize(
    "props, message",
    [
        ({"budget": "arn:aws:sns:us-east-1:123456789012:alerts"}, r"budget='arn:aws:sns:.*' .* a BraketBudget"),
        ({"quantum_tasks": "yes"}, r"quantum_tasks='yes' .* True or False"),
        ({"rule_name": "braket state"}, r"rule_name='braket state' .* 1-64 letters, digits"),
        ({"rule_name": "x" * 65}, r"rule_name='x{65}' .* 1-64"),
        ({"provider": "aws.eu"}, r"provider='aws.eu' .* AwsProvider"),
    ],
)
def test_alerts_props_are_validated(new_stack, props, message):
    with pytest.raises(ValueError, match=message):
        alerts_stack(new_stack, **props)
