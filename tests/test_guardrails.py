"""Guardrails fail synthesis with a clear message; the real stacks pass them."""

import json

import pytest
from quantum_constructs import cdk as cdktf
from quantum_constructs.aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from quantum_constructs.aws.iam_group_policy import IamGroupPolicy
from quantum_constructs.aws.iam_policy import IamPolicy
from quantum_constructs.aws.iam_role import IamRole, IamRoleInlinePolicy
from quantum_constructs.aws.iam_role_policy import IamRolePolicy
from quantum_constructs.aws.iam_user_policy import IamUserPolicy
from quantum_constructs.aws.s3_bucket import S3Bucket
from quantum_constructs.aws.s3_bucket_policy import S3BucketPolicy
from quantum_constructs.aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from quantum_constructs.aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA as EncryptionByDefault,
)
from quantum_constructs.aws.sagemaker_notebook_instance import SagemakerNotebookInstance

from quantum_constructs import QuantumResultsBucket, add_guardrails


def test_every_stack_passes_its_guardrails(app_stacks):
    assert "bootstrap" in app_stacks  # production guardrails on the state and log buckets too
    for stack in app_stacks.values():
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


def test_a_data_source_allow_with_not_actions(new_stack):
    stack = guarded(new_stack)
    DataAwsIamPolicyDocument(
        stack, "AllButIam", statement=[DataAwsIamPolicyDocumentStatement(not_actions=["iam:*"], resources=["*"])]
    )
    assert_synth_fails(
        stack, "IAM policy document 'AllButIam' allows every action but ['iam:*'] (not_actions in an Allow)"
    )


def policy_json(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}

# Every resource that takes a policy as JSON text, identity and resource policies alike.
RAW_POLICIES = {
    "aws_iam_role_policy": lambda stack, policy: IamRolePolicy(stack, "Raw", role="team-role", policy=policy),
    "aws_iam_policy": lambda stack, policy: IamPolicy(stack, "Raw", policy=policy),
    "aws_iam_user_policy": lambda stack, policy: IamUserPolicy(stack, "Raw", user="team-user", policy=policy),
    "aws_iam_group_policy": lambda stack, policy: IamGroupPolicy(stack, "Raw", group="team-group", policy=policy),
    "aws_s3_bucket_policy": lambda stack, policy: S3BucketPolicy(stack, "Raw", bucket="team-scratch", policy=policy),
}


@pytest.mark.parametrize("type_", sorted(RAW_POLICIES))
def test_a_json_policy_allowing_every_action(new_stack, type_):
    stack = guarded(new_stack)
    RAW_POLICIES[type_](stack, policy_json(ALLOW_EVERYTHING))
    assert_synth_fails(stack, f"IAM policy in {type_}.Raw allows wildcard actions ['*']: list the actions")


def test_a_json_policy_allowing_a_whole_service_names_the_statement(new_stack):
    stack = guarded(new_stack)
    bucket = S3Bucket(stack, "Bucket", bucket="team-scratch")
    statement = {"Sid": "AllOfS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:*"], "Resource": bucket.arn}
    IamPolicy(stack, "TooBroad", policy=policy_json(statement))
    assert_synth_fails(
        stack, "IAM policy in aws_iam_policy.TooBroad (statement 'AllOfS3') allows wildcard actions ['s3:*']"
    )


def test_a_json_policy_with_not_action_in_an_allow(new_stack):
    stack = guarded(new_stack)
    IamPolicy(stack, "AllButIam", policy=policy_json({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert_synth_fails(
        stack, "IAM policy in aws_iam_policy.AllButIam allows every action but 'iam:*' (NotAction in an Allow)"
    )


def test_a_role_inline_policy_and_a_jsonencode_policy_are_read_too(new_stack):
    stack = guarded(new_stack)
    IamRole(
        stack,
        "Role",
        assume_role_policy=policy_json(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "sagemaker.amazonaws.com"}}
        ),
        inline_policy=[IamRoleInlinePolicy(name="everything", policy=policy_json(ALLOW_EVERYTHING))],
    )
    bucket = S3Bucket(stack, "Bucket", bucket="team-scratch")
    statement = {"Effect": "Allow", "Action": ["braket:*"], "Resource": [bucket.arn, f"{bucket.arn}/*"]}
    IamPolicy(stack, "Encoded", policy=cdktf.Fn.jsonencode({"Version": "2012-10-17", "Statement": [statement]}))
    assert_synth_fails(
        stack,
        "IAM policy in aws_iam_role.Role inline_policy 'everything' allows wildcard actions ['*']",
        "IAM policy in aws_iam_policy.Encoded allows wildcard actions ['braket:*']",
    )


def test_clean_json_policies_pass(new_stack):
    stack = guarded(new_stack)
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-team-results")
    objects = f"{bucket.bucket_arn}/*"  # a token inside the JSON text
    read = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [bucket.bucket_arn, objects]}
    deny = {"Effect": "Deny", "Action": "s3:*", "NotResource": objects}
    IamPolicy(stack, "Read", policy=policy_json(read, deny))
    IamPolicy(stack, "Encoded", policy=cdktf.Fn.jsonencode({"Version": "2012-10-17", "Statement": [read]}))
    document = DataAwsIamPolicyDocument(
        stack, "Document", statement=[DataAwsIamPolicyDocumentStatement(actions=["s3:GetObject"], resources=["*"])]
    )
    IamPolicy(stack, "FromDocument", policy=document.json)  # a reference: the data source is checked instead
    cdktf.Testing.synth(stack, True)


def private_and_encrypted(stack, bucket: str) -> None:
    """The side resources that make ``bucket`` (how they name it) encrypted and fully private."""
    S3BucketServerSideEncryptionConfigurationA(
        stack,
        "Encryption",
        bucket=bucket,
        rule=[
            S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=EncryptionByDefault(sse_algorithm="aws:kms")
            )
        ],
    )
    S3BucketPublicAccessBlock(
        stack,
        "PublicAccess",
        bucket=bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )


@pytest.mark.parametrize("wiring", ["id", "bucket", "name"])
def test_a_raw_bucket_is_matched_by_its_id_its_bucket_attribute_or_its_name(new_stack, wiring):
    stack = guarded(new_stack)
    raw = S3Bucket(stack, "Raw", bucket="team-scratch")
    private_and_encrypted(stack, {"id": raw.id, "bucket": raw.bucket, "name": "team-scratch"}[wiring])
    cdktf.Testing.synth(stack, True)


def test_side_resources_of_another_bucket_do_not_cover_a_raw_bucket(new_stack):
    stack = guarded(new_stack)
    S3Bucket(stack, "Raw", bucket="team-scratch")
    other = S3Bucket(stack, "Other", bucket="team-other")
    private_and_encrypted(stack, other.bucket)
    assert_synth_fails(
        stack,
        "S3 bucket 'team-scratch' has no server-side encryption configuration",
        "S3 bucket 'team-scratch' has no public access block with all four flags true",
    )


def test_a_policy_text_that_is_not_json_cannot_be_checked_and_fails(new_stack):
    stack = guarded(new_stack)
    IamPolicy(stack, "Broken", policy='{"Statement": [{"Effect": "Allow", "Action": "*"')
    assert_synth_fails(stack, "IAM policy in aws_iam_policy.Broken is neither JSON nor a jsonencode literal")
