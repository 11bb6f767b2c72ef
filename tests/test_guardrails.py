"""Guardrails fail synthesis with a clear message; the real stacks pass them."""

import pytest
import cdktf
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.sagemaker_notebook_instance import SagemakerNotebookInstance

from quantum_constructs import QuantumResultsBucket, add_guardrails


def test_every_environment_stack_passes_its_guardrails(environment_stacks):
    for stack in environment_stacks.values():
        cdktf.Testing.synth(stack, True)  # raises on any violation


def guarded(new_stack, *, production: bool = False):
    stack = new_stack()
    add_guardrails(stack, production=production)
    return stack


def assert_synth_fails(stack, *messages: str) -> None:
    with pytest.raises(Exception) as failure:
        cdktf.Testing.synth(stack, True)
    for message in messages:
        assert message in str(failure.value)


def test_bucket_without_encryption_or_public_access_block(new_stack):
    stack = guarded(new_stack)
    S3Bucket(stack, "Raw", bucket="team-scratch")
    assert_synth_fails(
        stack,
        "S3 bucket 'team-scratch' has no server-side encryption configuration",
        "S3 bucket 'team-scratch' has no public access block with all four flags true",
    )


def test_force_destroy_is_refused_in_production_only(new_stack):
    development = guarded(new_stack)
    QuantumResultsBucket(development, "Results", bucket_name="amazon-braket-dev-x", force_destroy=True)
    cdktf.Testing.synth(development, True)

    production = guarded(new_stack, production=True)
    QuantumResultsBucket(production, "Results", bucket_name="amazon-braket-prod-x", force_destroy=True)
    assert_synth_fails(production, "S3 bucket 'amazon-braket-prod-x' has force_destroy in a production stack")


def test_notebook_with_root_access(new_stack):
    stack = guarded(new_stack)
    SagemakerNotebookInstance(
        stack, "Raw", name="amazon-braket-raw", role_arn="arn:aws:iam::1:role/x", instance_type="ml.t3.medium", root_access="Enabled"
    )
    assert_synth_fails(stack, "SageMaker notebook 'amazon-braket-raw' has root access")


def test_policy_with_a_wildcard_action(new_stack):
    stack = guarded(new_stack)
    DataAwsIamPolicyDocument(
        stack, "TooBroad", statement=[DataAwsIamPolicyDocumentStatement(actions=["s3:*"], resources=["*"])]
    )
    assert_synth_fails(stack, "IAM policy document 'TooBroad' allows wildcard actions ['s3:*']")


def test_a_deny_with_wildcards_is_fine(new_stack):
    stack = guarded(new_stack)
    DataAwsIamPolicyDocument(
        stack,
        "DenyAll",
        statement=[DataAwsIamPolicyDocumentStatement(effect="Deny", actions=["braket:*"], resources=["*"])],
    )
    cdktf.Testing.synth(stack, True)
