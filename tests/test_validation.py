"""Bad input is refused when the construct or configuration is built, naming the prop and what is allowed."""

import dataclasses

import pytest

from quantum_constructs import BraketNotebookRole, QuantumDevNotebook, QuantumResultsBucket
from stacks import get_environment

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def notebook(new_stack, **props):
    stack = new_stack()
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-validation")
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1])
    return QuantumDevNotebook(
        stack, "Notebook", **{"notebook_name": "amazon-braket-ok", "role": role, "results_bucket": bucket, **props}
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        ("quantum-results", r"bucket_name='quantum-results' is not allowed: expected a name starting with 'amazon-braket-'"),
        ("amazon-braket-UPPER", r"bucket_name='amazon-braket-UPPER' is not allowed: expected 3-63 lowercase"),
        ("amazon-braket-" + "x" * 60, r"bucket_name=.* expected 3-63"),
        ("amazon-braket-results--ol-s3", r"bucket_name='amazon-braket-results--ol-s3' .* a name S3 accepts"),
        ("amazon-braket-results-s3alias", r"bucket_name=.* not starting xn--, sthree-, amzn-s3-demo- nor ending"),
    ],
)
def test_bad_bucket_name(new_stack, name, expected):
    with pytest.raises(ValueError, match=expected):
        QuantumResultsBucket(new_stack(), "Results", bucket_name=name)


@pytest.mark.parametrize(
    "props, expected",
    [
        ({"results_prefix": "/results/"}, r"results_prefix='/results/' .* relative S3 key prefix"),
        ({"transition_to_ia_days": 7}, r"transition_to_ia_days=7 .* at least 30"),
        ({"expire_after_days": 0}, r"expire_after_days=0 .* positive number of days"),
        ({"transition_to_ia_days": 60, "expire_after_days": 40}, r"expire_after_days=40 .* more than transition_to_ia_days"),
        ({"access_log_bucket": "amazon-braket-x"}, r"access_log_bucket='amazon-braket-x' .* another, existing S3 bucket"),
        ({"encryption": "aws:kms"}, r"encryption='aws:kms' .* BucketEncryption.KMS"),
        ({"versioned": "no"}, r"versioned='no' is not allowed: expected True or False"),
        ({"force_destroy": 1}, r"force_destroy=1 .* True or False"),
        ({"expire_after_days": True}, r"expire_after_days=True .* positive number of days"),
        ({"access_log_prefix": "/bad"}, r"access_log_prefix='/bad' .*no leading '/'"),
    ],
)
def test_bad_bucket_props(new_stack, props, expected):
    with pytest.raises(ValueError, match=expected):
        QuantumResultsBucket(new_stack(), "Results", bucket_name="amazon-braket-x", **props)


def test_bad_notebook_name(new_stack):
    with pytest.raises(ValueError, match=r"notebook_name='research-notebook' .* starting with 'amazon-braket-'"):
        notebook(new_stack, notebook_name="research-notebook")


def test_bad_instance_type(new_stack):
    with pytest.raises(ValueError, match=r"instance_type='t3.medium' .* SageMaker notebook instance type such as 'ml.t3.medium'"):
        notebook(new_stack, instance_type="t3.medium")


@pytest.mark.parametrize(
    "props, expected",
    [
        ({"volume_size_gb": 2}, r"volume_size_gb=2 .* 5 to 16384"),
        ({"idle_stop_minutes": -5}, r"idle_stop_minutes=-5 .* 0 \(never stop\)"),
        ({"security_group_ids": ["sg-1"]}, r"security_group_ids=\['sg-1'\] .* only together with subnet_id"),
        ({"direct_internet_access": False}, r"direct_internet_access=False .* only with subnet_id"),
        ({"braket_sdk_version": "latest"}, r"braket_sdk_version='latest' .* exact version"),
        ({"idle_stop_minutes": True}, r"idle_stop_minutes=True .* 0 \(never stop\)"),
        ({"volume_size_gb": 20.0}, r"volume_size_gb=20.0 .* an integer"),
        ({"subnet_id": "subnet-1", "security_group_ids": "sg-1"}, r"security_group_ids='sg-1' .* a list of security group ids"),
        ({"direct_internet_access": "Disabled"}, r"direct_internet_access='Disabled' .* True or False"),
    ],
)
def test_bad_notebook_props(new_stack, props, expected):
    with pytest.raises(ValueError, match=expected):
        notebook(new_stack, **props)


def test_empty_device_list(new_stack):
    with pytest.raises(ValueError, match=r"allowed_device_arns=\[\] is not allowed: expected a non-empty list of Braket device ARNs"):
        BraketNotebookRole(new_stack(), "Role", allowed_device_arns=[])


def test_a_single_device_string_is_not_a_list(new_stack):
    with pytest.raises(ValueError, match=r"allowed_device_arns='arn:aws:braket:::device/quantum-simulator/amazon/sv1' .* non-empty list"):
        BraketNotebookRole(new_stack(), "Role", allowed_device_arns=SV1)


def test_device_that_is_not_a_braket_arn(new_stack):
    with pytest.raises(ValueError, match=r"allowed_device_arns='sv1' .* Braket device ARNs like"):
        BraketNotebookRole(new_stack(), "Role", allowed_device_arns=["sv1"])


def test_role_name_must_keep_the_braket_prefix(new_stack):
    with pytest.raises(ValueError, match=r"role_name='NotebookRole' .* starting with 'AmazonBraketServiceSageMakerNotebookRole'"):
        BraketNotebookRole(new_stack(), "Role", allowed_device_arns=[SV1], role_name="NotebookRole")


def test_unknown_environment():
    with pytest.raises(ValueError, match=r"environment='qa' is not allowed: expected one of dev, prod, staging"):
        get_environment("qa")


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"force_destroy": True}, r"force_destroy=True .* False in prod"),
        ({"backend": None}, r"backend=None .* only dev keeps local state"),
        ({"max_cost_usd": 0}, r"max_cost_usd=0 .* positive, finite amount"),
        ({"region": "mars-1"}, r"region='mars-1' .* AWS region"),
        ({"tags": {"Environment": "x"}}, r"tags=\['Environment'\] .* other than Project, Environment and ManagedBy"),
        ({"budget_alert_emails": ()}, r"budget_alert_emails=\(\) .* at least one address"),
        ({"max_cost_usd": float("nan")}, r"max_cost_usd=nan .* finite amount"),
        ({"max_cost_usd": float("inf")}, r"max_cost_usd=inf .* finite amount"),
        ({"max_cost_usd": -0.0}, r"max_cost_usd=-0.0 .* finite amount"),
        ({"monthly_budget_usd": float("inf")}, r"monthly_budget_usd=inf"),
        ({"monthly_budget_usd": float("nan")}, r"monthly_budget_usd=nan"),
    ],
)
def test_bad_environment_config(changes, expected):
    with pytest.raises(ValueError, match=expected):
        dataclasses.replace(get_environment("prod"), **changes)


def test_too_many_devices_for_the_lifecycle_script(new_stack):
    devices = [f"arn:aws:braket:us-east-1::device/qpu/vendor/device-{i}" for i in range(200)]
    stack = new_stack()
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-validation")
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=devices)
    with pytest.raises(ValueError, match=r"role.allowed_device_arns='200 devices' .* fit SageMaker's 16384 characters"):
        QuantumDevNotebook(stack, "Notebook", notebook_name="amazon-braket-ok", role=role, results_bucket=bucket)
