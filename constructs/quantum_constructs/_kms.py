"""What every customer-managed key of this library grants its account."""

from typing import Sequence

from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct

# The account root administers the key and delegates its use to IAM policies
# (such as grant_read_write). Listed explicitly rather than "kms:*" so that no
# policy in the stack allows a whole service.
KEY_POLICY_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Decrypt",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:ReEncrypt*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]


def account_administers_key(partition: str, account: str) -> DataAwsIamPolicyDocumentStatement:
    """The key-policy statement giving the account root the key, so IAM policies decide its use."""
    return DataAwsIamPolicyDocumentStatement(
        sid="AccountAdministersAndDelegatesUse",
        actions=KEY_POLICY_ACTIONS,
        resources=["*"],  # in a key policy, "*" is this key
        principals=[
            DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[f"arn:{partition}:iam::{account}:root"])
        ],
    )


def key_policy_statements(
    partition: str,
    account: str,
    *,
    sid: str,
    principals: DataAwsIamPolicyDocumentStatementPrincipals,
    conditions: Sequence[DataAwsIamPolicyDocumentStatementCondition],
) -> list[DataAwsIamPolicyDocumentStatement]:
    """A key's policy statements: the account administers the key, and ``principals`` encrypt and decrypt with it under ``conditions``."""
    return [
        account_administers_key(partition, account),
        DataAwsIamPolicyDocumentStatement(
            sid=sid,
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            resources=["*"],
            principals=[principals],
            condition=list(conditions),
        ),
    ]


def key_policy(
    scope: Construct,
    partition: str,
    account: str,
    *,
    sid: str,
    principals: DataAwsIamPolicyDocumentStatementPrincipals,
    conditions: Sequence[DataAwsIamPolicyDocumentStatementCondition],
) -> DataAwsIamPolicyDocument:
    """A key's policy document (``KeyPolicy``) made of ``key_policy_statements``."""
    return DataAwsIamPolicyDocument(
        scope,
        "KeyPolicy",
        statement=key_policy_statements(partition, account, sid=sid, principals=principals, conditions=conditions),
    )
