"""Tests for tests.access, the IAM policy evaluator, mostly AWS's own documented examples.

Each test names the documentation page its example and expected outcome come from.
Pure Python: no synthesis, no I/O.
"""

from __future__ import annotations

import pytest

from tests.access import Decision, PolicyError, Request, Result, evaluate

IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
EVAL_LOGIC = IAM + "reference_policies_evaluation-logic.html"  # "Policy evaluation logic"
CROSS_ACCOUNT = IAM + "reference_policies_evaluation-logic-cross-account.html"
CONDITION_OPERATORS = IAM + "reference_policies_elements_condition_operators.html"
MULTI_VALUE = IAM + "reference_policies_multi-value-conditions.html"
KMS_KEY_POLICIES = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"
KMS_DEFAULT_POLICY = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
S3_BUCKET_POLICY_EXAMPLES = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html"

ACCOUNT = "123456789012"
OTHER = "999999999999"
CARLOS = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/braket-notebook"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def decide(principal, action, resource, identity=(), resource_policy=None, context=None, **kw) -> Result:
    request = Request(principal, action, resource, context or {})
    return evaluate(request, identity, resource_policy, **kw)


# --------------------------------------------------------------------------- deny / allow basics

IAM_GET_LIST_DENY_REPORTS = policy(
    {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
    {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
)


@pytest.mark.parametrize(
    ("action", "decision"),
    [
        ("iam:GetUser", Decision.ALLOW),
        ("iam:CreatePolicy", Decision.IMPLICIT_DENY),
        ("iam:GetOrganizationsAccessReport", Decision.EXPLICIT_DENY),
    ],
)
def test_explicit_and_implicit_denies(action, decision):
    """'Policy evaluation logic' > 'The difference between explicit and implicit denies'
    (EVAL_LOGIC): Get*/List* allowed, iam:CreatePolicy implicitly denied, *Report denied."""
    result = decide(CARLOS, action, "*", [IAM_GET_LIST_DENY_REPORTS])
    assert result.decision is decision, result.reason


def test_explicit_deny_beats_an_allow_in_another_policy():
    """Same page: 'If someone adds another policy ... to grant them access to IAM reports,
    such as iam:GenerateCredentialReport, report-related requests are still denied'."""
    grant = policy({"Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"})
    result = decide(CARLOS, "iam:GenerateCredentialReport", "*", [grant, IAM_GET_LIST_DENY_REPORTS])
    assert result.decision is Decision.EXPLICIT_DENY
    assert "DenyReports" in result.reason


CARLOS_IDENTITY = policy(
    {"Sid": "AllowS3ListRead", "Effect": "Allow",
     "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints",
                "s3:ListAllMyBuckets"],
     "Resource": "arn:aws:s3:::*"},
    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)
CARLOS_BUCKET_POLICY = policy(
    {"Sid": "CarlosOnly", "Effect": "Allow", "Principal": {"AWS": CARLOS}, "Action": "s3:*",
     "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
)


def test_same_account_example_identity_deny_wins_over_bucket_policy():
    """'Policy evaluation logic' > 'Example identity-based and resource-based policy
    evaluation' (EVAL_LOGIC): saving to carlossalazar-logs hits DenyS3Logs."""
    result = decide(CARLOS, "s3:PutObject", "arn:aws:s3:::carlossalazar-logs/app.log",
                    [CARLOS_IDENTITY], CARLOS_BUCKET_POLICY)
    assert result.decision is Decision.EXPLICIT_DENY
    assert "DenyS3Logs" in result.reason


def test_same_account_example_allowed_on_own_bucket():
    """Same example: 'Both the identity-based policy and the resource-based policy allow the
    request. Therefore, AWS allows the request.'"""
    result = decide(CARLOS, "s3:PutObject", "arn:aws:s3:::carlossalazar/notes.txt",
                    [CARLOS_IDENTITY], CARLOS_BUCKET_POLICY)
    assert result.allowed, result.reason


def test_same_account_resource_policy_alone_allows_a_named_principal():
    """Same page: 'If one of the policy types allows the request and the other doesn't, the
    request is still allowed' -- a bucket policy naming the user, no identity policy."""
    result = decide(CARLOS, "s3:GetObject", "arn:aws:s3:::carlossalazar/notes.txt",
                    [], CARLOS_BUCKET_POLICY)
    assert result.allowed
    assert "CarlosOnly" in result.reason


def test_resource_policy_deny_overrides_identity_allow():
    """EVAL_LOGIC, 'Deny evaluation': the enforcement code looks for a Deny in all policies,
    resource-based ones included; one applicable explicit deny decides."""
    bucket_policy = policy({"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*",
                            "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::carlossalazar/*"})
    result = decide(CARLOS, "s3:DeleteObject", "arn:aws:s3:::carlossalazar/notes.txt",
                    [CARLOS_IDENTITY], bucket_policy)
    assert result.decision is Decision.EXPLICIT_DENY
    assert "NoDeletes" in result.reason


def test_nothing_applies_is_an_implicit_deny():
    """EVAL_LOGIC: 'By default, all requests are implicitly denied'."""
    result = decide(CARLOS, "s3:GetObject", "arn:aws:s3:::someone-else/x", [CARLOS_IDENTITY])
    assert result.decision is Decision.IMPLICIT_DENY
    assert not result.allowed


def test_account_principal_in_bucket_policy_only_delegates_within_the_account():
    """'AWS JSON policy elements: Principal' > 'AWS account principals'
    (IAM + reference_policies_elements_principal.html): an account principal 'delegates
    authority to the account'; the account's IAM policies must still grant the role."""
    bucket_policy = policy({"Sid": "DelegateToAccount", "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::jobs/*"})
    denied = decide(ROLE, "s3:GetObject", "arn:aws:s3:::jobs/result.json", [], bucket_policy)
    assert denied.decision is Decision.IMPLICIT_DENY
    assert "DelegateToAccount" in denied.reason

    grant = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::jobs/*"})
    assert decide(ROLE, "s3:GetObject", "arn:aws:s3:::jobs/result.json", [grant], bucket_policy).allowed


def test_principal_star_grants_directly_within_the_account():
    """EVAL_LOGIC: within one account, a resource-based policy that allows the principal
    (here everyone, "*") is enough on its own."""
    bucket_policy = policy({"Effect": "Allow", "Principal": {"AWS": "*"},
                            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public/*"})
    assert decide(ROLE, "s3:GetObject", "arn:aws:s3:::public/index.html", [], bucket_policy).allowed


# --------------------------------------------------------------------------- cross-account

PRODUCTION_ACCOUNT = "222222222222"
CARLOS_111 = "arn:aws:iam::111111111111:user/carlossalazar"
CARLOS_111_IDENTITY = policy(
    {"Sid": "AllowS3ListRead", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
    {"Sid": "AllowS3ProductionObjectActions", "Effect": "Allow", "Action": "s3:*Object*",
     "Resource": "arn:aws:s3:::Production/*"},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::*log*", "arn:aws:s3:::*log*/*"]},
)
PRODUCTION_BUCKET_POLICY = policy(
    {"Sid": "CarlosObjects", "Effect": "Allow",
     "Action": ["s3:GetObject*", "s3:PutObject*", "s3:ReplicateObject", "s3:RestoreObject"],
     "Principal": {"AWS": CARLOS_111}, "Resource": "arn:aws:s3:::Production/*"},
)


def test_cross_account_example_both_accounts_allow():
    """'Cross-account policy evaluation logic' > 'Example cross-account policy evaluation'
    (CROSS_ACCOUNT): saving to the Production bucket is allowed by both accounts."""
    result = decide(CARLOS_111, "s3:PutObject", "arn:aws:s3:::Production/build.tar",
                    [CARLOS_111_IDENTITY], PRODUCTION_BUCKET_POLICY, resource_account=PRODUCTION_ACCOUNT)
    assert result.allowed, result.reason


def test_cross_account_example_log_bucket_is_denied():
    """Same example: Production-logs has no bucket policy and DenyS3Logs denies it."""
    result = decide(CARLOS_111, "s3:PutObject", "arn:aws:s3:::Production-logs/app.log",
                    [CARLOS_111_IDENTITY], None, resource_account=PRODUCTION_ACCOUNT)
    assert result.decision is Decision.EXPLICIT_DENY


def test_cross_account_without_a_resource_policy_is_denied():
    """CROSS_ACCOUNT: 'the resource-based policy in AccountB must allow the requester';
    an identity-based allow alone is not enough."""
    result = decide(CARLOS_111, "s3:GetObject", "arn:aws:s3:::Production/build.tar",
                    [CARLOS_111_IDENTITY], None, resource_account=PRODUCTION_ACCOUNT)
    assert result.decision is Decision.IMPLICIT_DENY
    assert "no resource policy" in result.reason


def test_cross_account_needs_the_identity_side_too():
    """CROSS_ACCOUNT: 'The request is allowed only if both evaluations return Allow'."""
    result = decide(CARLOS_111, "s3:PutObject", "arn:aws:s3:::Production/build.tar",
                    [], PRODUCTION_BUCKET_POLICY, resource_account=PRODUCTION_ACCOUNT)
    assert result.decision is Decision.IMPLICIT_DENY
    assert "CarlosObjects" in result.reason


@pytest.mark.parametrize("account_principal", ["111111111111", "arn:aws:iam::111111111111:root"])
def test_cross_account_grant_to_the_account_plus_identity_policy(account_principal):
    """'AWS JSON policy elements: Principal': the account ARN and the bare account id 'behave
    the same way'; with the trusted account's identity policy the request is allowed."""
    bucket_policy = policy({"Effect": "Allow", "Principal": {"AWS": account_principal},
                            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::Production/*"})
    args = ("s3:GetObject", "arn:aws:s3:::Production/build.tar")
    assert decide(CARLOS_111, *args, [CARLOS_111_IDENTITY], bucket_policy,
                  resource_account=PRODUCTION_ACCOUNT).allowed
    assert not decide(CARLOS_111, *args, [], bucket_policy, resource_account=PRODUCTION_ACCOUNT).allowed


# --------------------------------------------------------------------------- Action / Resource matching


HR_PAYROLL = policy(
    {"Sid": "AllowS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    {"Sid": "DenyAllButPayroll", "Effect": "Deny", "Action": "s3:*",
     "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]},
)


@pytest.mark.parametrize(
    ("resource", "decision"),
    [
        ("arn:aws:s3:::HRBucket/Payroll/2024.csv", Decision.ALLOW),
        ("arn:aws:s3:::HRBucket/Payroll", Decision.ALLOW),
        ("arn:aws:s3:::HRBucket/Recruiting/cv.pdf", Decision.EXPLICIT_DENY),
        ("arn:aws:s3:::OtherBucket/x", Decision.EXPLICIT_DENY),
    ],
)
def test_notresource_deny_everything_except(resource, decision):
    """'IAM JSON policy elements: NotResource' (IAM + reference_policies_elements_notresource.html):
    the HRPayroll example denies all S3 resources other than the Payroll folder."""
    result = decide(CARLOS, "s3:GetObject", resource, [HR_PAYROLL])
    assert result.decision is decision, result.reason


def test_notaction_allow_everything_but_deletebucket():
    """'IAM JSON policy elements: NotAction' (IAM + reference_policies_elements_notaction.html):
    NotAction s3:DeleteBucket on arn:aws:s3:::* allows other S3 actions on S3 resources, not
    DeleteBucket, and not ListAllMyBuckets ('because that action requires the "*" resource')."""
    pol = policy({"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"})
    assert decide(CARLOS, "s3:GetObject", "arn:aws:s3:::b/k", [pol]).allowed
    assert decide(CARLOS, "s3:DeleteBucket", "arn:aws:s3:::b", [pol]).decision is Decision.IMPLICIT_DENY
    assert decide(CARLOS, "s3:ListAllMyBuckets", "*", [pol]).decision is Decision.IMPLICIT_DENY


def test_notaction_deny_with_boolifexists_mfa():
    """NotAction page, 'NotAction with Deny': DenyAllUsersNotUsingMFA denies non-IAM actions
    when aws:MultiFactorAuthPresent is false or absent (BoolIfExists), never IAM actions."""
    deny = policy({"Sid": "DenyAllUsersNotUsingMFA", "Effect": "Deny", "NotAction": "iam:*",
                   "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    bucket = "arn:aws:s3:::b"
    assert decide(CARLOS, "s3:ListBucket", bucket, [allow_all, deny]).decision is Decision.EXPLICIT_DENY
    assert decide(CARLOS, "s3:ListBucket", bucket, [allow_all, deny],
                  context={"aws:MultiFactorAuthPresent": "false"}).decision is Decision.EXPLICIT_DENY
    assert decide(CARLOS, "s3:ListBucket", bucket, [allow_all, deny],
                  context={"aws:MultiFactorAuthPresent": True}).allowed
    assert decide(CARLOS, "iam:ListUsers", "*", [allow_all, deny]).allowed


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("SNS:Publish", "sns:Publish", True),           # action names are case-insensitive
        ("sqs:sendmessage", "SQS:SendMessage", True),
        ("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext", True),
        ("kms:GenerateDataKey*", "kms:GenerateDataKey", True),   # '*' matches nothing, too
        ("iam:*AccessKey*", "iam:CreateAccessKey", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObjectAcl", False),
        ("kms:GenerateDataKey*", "kms:Decrypt", False),
    ],
)
def test_action_wildcards_and_case(pattern, action, matches):
    """'IAM JSON policy elements: Action' (IAM + reference_policies_elements_action.html):
    'Action values are case-insensitive' and accept * and ? wildcards; the iam:*AccessKey*
    pattern is the example used in CONDITION_OPERATORS."""
    pol = policy({"Effect": "Allow", "Action": pattern, "Resource": "*"})
    assert decide(CARLOS, action, "*", [pol]).allowed is matches


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        # '*' matches zero characters: a region-less (or account-less) ARN still matches
        ("arn:aws:braket:*:*:device/qpu/ionq/Forte-1", "arn:aws:braket::123456789012:device/qpu/ionq/Forte-1", True),
        ("arn:aws:braket:*:*:device/qpu/ionq/Forte-1", "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", True),
        ("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-a", True),
        ("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-", False),     # '?' is exactly one
        ("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-ab", False),
        ("arn:aws:s3:::Production/*", "arn:aws:s3:::production/x", False),  # case-sensitive
        ("arn:aws:iam::123456789012:user/accounting/*", "arn:aws:iam::123456789012:user/accounting/bob", True),
    ],
)
def test_resource_wildcards_and_case(pattern, resource, matches):
    """'IAM JSON policy elements: Resource' (IAM + reference_policies_elements_resource.html):
    '*' is any combination of characters, '?' any single character; ARNs are case-sensitive."""
    pol = policy({"Effect": "Allow", "Action": "*", "Resource": pattern})
    assert decide(CARLOS, "braket:GetDevice", resource, [pol]).allowed is matches


# --------------------------------------------------------------------------- KMS

KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENABLE_IAM_POLICIES = {"Sid": "Enable IAM policies", "Effect": "Allow",
                       "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
KEY_ADMINS = {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KMSAdminRole"},
              "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*"],
              "Resource": "*"}
ROLE_MAY_DECRYPT = policy({"Sid": "UseTheKey", "Effect": "Allow",
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": KEY})


def test_kms_identity_policy_alone_is_not_enough():
    """'Key policies in AWS KMS' (KMS_KEY_POLICIES): 'Unless the key policy explicitly allows
    it, you cannot use IAM policies to allow access to a KMS key.'"""
    result = decide(ROLE, "kms:Decrypt", KEY, [ROLE_MAY_DECRYPT], policy(KEY_ADMINS), key_policy=True)
    assert result.decision is Decision.IMPLICIT_DENY
    assert "ineffective" in result.reason


def test_kms_root_statement_enables_iam_policies():
    """'Default key policy' > 'Allows access to the AWS account and enables IAM policies'
    (KMS_DEFAULT_POLICY): the account principal statement lets IAM policies delegate, but
    'doesn't give any IAM users or roles permission' by itself."""
    key_policy = policy(ENABLE_IAM_POLICIES, KEY_ADMINS)
    assert decide(ROLE, "kms:GenerateDataKeyWithoutPlaintext", KEY, [ROLE_MAY_DECRYPT], key_policy,
                  key_policy=True).allowed
    result = decide(ROLE, "kms:Decrypt", KEY, [], key_policy, key_policy=True)
    assert result.decision is Decision.IMPLICIT_DENY
    assert "Enable IAM policies" in result.reason


def test_kms_direct_grant_with_via_service_condition():
    """KMS Developer Guide, 'kms:ViaService' condition key (key policy example allowing a
    principal to use the key only when the request comes from the named service), applied to
    a service-linked role named directly in the key policy -- no IAM policy needed."""
    slr = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/braket.amazonaws.com/AWSServiceRoleForAmazonBraket"
    key_policy = policy(ENABLE_IAM_POLICIES, {
        "Sid": "AllowBraketViaS3", "Effect": "Allow", "Principal": {"AWS": slr},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}},
    })
    via_s3 = decide(slr, "kms:GenerateDataKey", KEY, [], key_policy, key_policy=True,
                    context={"kms:ViaService": "s3.us-east-1.amazonaws.com"})
    assert via_s3.allowed and "AllowBraketViaS3" in via_s3.reason
    direct = decide(slr, "kms:GenerateDataKey", KEY, [], key_policy, key_policy=True)
    assert direct.decision is Decision.IMPLICIT_DENY
    other = decide(slr, "kms:GenerateDataKey", KEY, [], key_policy, key_policy=True,
                   context={"kms:ViaService": "lambda.us-east-1.amazonaws.com"})
    assert other.decision is Decision.IMPLICIT_DENY


def test_kms_root_user_needs_the_key_policy_too():
    """KMS_KEY_POLICIES: 'No AWS principal, including the account root user or key creator,
    has any permissions to a KMS key unless they are explicitly allowed ... in a key policy'."""
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert not decide(root, "kms:Decrypt", KEY, [], policy(KEY_ADMINS), key_policy=True).allowed
    assert decide(root, "kms:Decrypt", KEY, [], policy(ENABLE_IAM_POLICIES), key_policy=True).allowed


def test_kms_identity_deny_applies_without_key_policy_permission():
    """KMS_KEY_POLICIES: '(You can use an IAM policy to deny a permission to a KMS key
    without permission from a key policy.)'"""
    deny = policy({"Sid": "NoDecrypt", "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"})
    key_policy = policy({**KEY_ADMINS, "Principal": {"AWS": ROLE}, "Action": "kms:*"})
    result = decide(ROLE, "kms:Decrypt", KEY, [deny], key_policy, key_policy=True)
    assert result.decision is Decision.EXPLICIT_DENY


def test_kms_requires_a_key_policy_and_the_flag():
    """KMS_KEY_POLICIES: 'every KMS key must have a key policy' -- both misuses raise."""
    with pytest.raises(PolicyError):
        decide(ROLE, "kms:Decrypt", KEY, [ROLE_MAY_DECRYPT], None, key_policy=True)
    with pytest.raises(PolicyError):
        decide(ROLE, "kms:Decrypt", KEY, [ROLE_MAY_DECRYPT], policy(ENABLE_IAM_POLICIES))


ASSUMABLE = f"arn:aws:iam::{ACCOUNT}:role/BraketJobRole"
MAY_ASSUME = policy({"Sid": "AssumeJobRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ASSUMABLE})


def test_role_trust_policy_is_required_like_a_key_policy():
    """EVAL_LOGIC, 'Resource-based policies': 'IAM role trust policies and KMS key policies are
    exceptions to this logic, because they must explicitly allow access for principals' --
    an identity-based allow alone cannot assume a role; the trust policy (no Resource element)
    naming the caller, or its account plus an identity-based allow, can."""
    trust_service = policy({"Effect": "Allow", "Principal": {"Service": "braket.amazonaws.com"},
                            "Action": "sts:AssumeRole"})
    denied = decide(ROLE, "sts:AssumeRole", ASSUMABLE, [MAY_ASSUME], trust_service)
    assert denied.decision is Decision.IMPLICIT_DENY and "trust policy" in denied.reason
    assert decide("braket.amazonaws.com", "sts:AssumeRole", ASSUMABLE, [], trust_service).allowed

    trust_account = policy({"Sid": "TrustAccount", "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"})
    assert decide(ROLE, "sts:AssumeRole", ASSUMABLE, [MAY_ASSUME], trust_account).allowed
    assert not decide(ROLE, "sts:AssumeRole", ASSUMABLE, [], trust_account).allowed

    trust_role = policy({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"})
    assert decide(ROLE, "sts:AssumeRole", ASSUMABLE, [], trust_role).allowed
    with pytest.raises(PolicyError):  # every role has a trust policy
        decide(ROLE, "sts:AssumeRole", ASSUMABLE, [MAY_ASSUME], None)


def test_cross_account_assume_role_needs_both_sides():
    """CROSS_ACCOUNT: a role trust policy 'allow[s] principals in other accounts to assume that
    role'; the trusted account's identity policy must allow sts:AssumeRole as well."""
    outsider = f"arn:aws:iam::{OTHER}:role/Auditor"
    trust = policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole"})
    assert decide(outsider, "sts:AssumeRole", ASSUMABLE, [MAY_ASSUME], trust).allowed
    assert not decide(outsider, "sts:AssumeRole", ASSUMABLE, [], trust).allowed


# --------------------------------------------------------------------------- service principals

BUDGETS = "budgets.amazonaws.com"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:budget-alerts"
TOPIC_POLICY = policy({
    "Sid": "AllowBudgetsPublish", "Effect": "Allow", "Principal": {"Service": BUDGETS},
    "Action": "SNS:Publish", "Resource": TOPIC,
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                  "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:budget/*"}},
})


def test_service_principal_allowed_only_by_a_resource_policy_naming_it():
    """'AWS JSON policy elements: Principal' > 'AWS service principals'; CROSS_ACCOUNT: 'You
    can also specify an AWS service as a principal'. Conditions are the confused-deputy guard."""
    ctx = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:budget/monthly"}
    assert decide(BUDGETS, "sns:Publish", TOPIC, [], TOPIC_POLICY, context=ctx).allowed
    foreign = {**ctx, "aws:SourceAccount": OTHER, "aws:SourceArn": f"arn:aws:budgets::{OTHER}:budget/x"}
    assert not decide(BUDGETS, "sns:Publish", TOPIC, [], TOPIC_POLICY, context=foreign).allowed
    assert not decide(BUDGETS, "sns:Publish", TOPIC, [], None, context=ctx).allowed
    assert not decide("sns.amazonaws.com", "sns:Publish", TOPIC, [], TOPIC_POLICY, context=ctx).allowed
    with pytest.raises(PolicyError):  # services have no identity-based policies
        decide(BUDGETS, "sns:Publish", TOPIC, [policy({"Effect": "Allow", "Action": "*", "Resource": "*"})])


# --------------------------------------------------------------------------- conditions

SECURE_TRANSPORT_BUCKET_POLICY = policy({
    "Sid": "RestrictToTLSRequestsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
})


@pytest.mark.parametrize(("secure", "decision"), [(False, Decision.EXPLICIT_DENY), ("false", Decision.EXPLICIT_DENY),
                                                   (True, Decision.ALLOW), ("TRUE", Decision.ALLOW)])
def test_secure_transport_false_is_denied(secure, decision):
    """S3 User Guide, 'Examples of Amazon S3 bucket policies' > 'Managing access based on
    HTTP or HTTPS requests' (S3_BUCKET_POLICY_EXAMPLES), and the Bool operator example in
    CONDITION_OPERATORS: plain-HTTP requests are denied even to an allowed role."""
    grant = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"})
    result = decide(ROLE, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/k", [grant],
                    SECURE_TRANSPORT_BUCKET_POLICY, context={"aws:SecureTransport": secure})
    assert result.decision is decision, result.reason


def test_always_present_key_missing_from_the_context_raises():
    """CONDITION_OPERATORS: 'The aws:SecureTransport key is always present in the request
    context' -- a request without it cannot happen, so the evaluator refuses to guess."""
    with pytest.raises(PolicyError, match="SecureTransport"):
        decide(ROLE, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/k", [], SECURE_TRANSPORT_BUCKET_POLICY)


def test_ifexists_example_run_instances():
    """CONDITION_OPERATORS > '...IfExists condition operators': StringLikeIfExists on
    ec2:InstanceType lets resources without that key through (images, key pairs ...) while
    instances must be t1/t2/m3."""
    pol = policy({"Sid": "RunInstance", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
                  "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}})
    image = "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"
    instance = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc"
    assert decide(CARLOS, "ec2:RunInstances", image, [pol]).allowed
    assert decide(CARLOS, "ec2:RunInstances", instance, [pol], context={"ec2:InstanceType": "t2.micro"}).allowed
    assert not decide(CARLOS, "ec2:RunInstances", instance, [pol], context={"ec2:InstanceType": "m5.large"}).allowed
    plain = policy({"Sid": "THISPOLICYDOESNOTWORK", "Effect": "Allow", "Action": "ec2:RunInstances",
                    "Resource": "*", "Condition": {"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}})
    assert not decide(CARLOS, "ec2:RunInstances", image, [plain]).allowed


def test_null_condition_token_issue_time():
    """CONDITION_OPERATORS > 'Condition operator to check existence of condition keys':
    Null aws:TokenIssueTime true = the caller must not be using temporary credentials."""
    pol = policy({"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
                  "Condition": {"Null": {"aws:TokenIssueTime": "true"}}})
    assert decide(CARLOS, "ec2:DescribeInstances", "*", [pol]).allowed
    assert not decide(CARLOS, "ec2:DescribeInstances", "*", [pol],
                      context={"aws:TokenIssueTime": "2024-01-01T00:00:01Z"}).allowed


def test_negated_operator_with_missing_key_is_true():
    """CONDITION_OPERATORS, 'Important': a missing key makes a condition false, but 'If the
    policy condition requires that the key is not matched, such as StringNotLike or
    ArnNotLike, and the right key is not present, the condition is true.'"""
    deny = policy({"Sid": "OnlyFromOurVpc", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
                   "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-111bbb22"}}})
    allow = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    bucket = "arn:aws:s3:::b"
    assert decide(ROLE, "s3:ListBucket", bucket, [allow, deny]).decision is Decision.EXPLICIT_DENY
    assert decide(ROLE, "s3:ListBucket", bucket, [allow, deny], context={"aws:SourceVpc": "vpc-111bbb22"}).allowed
    positive = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}}})
    assert decide(ROLE, "s3:ListBucket", bucket, [positive]).decision is Decision.IMPLICIT_DENY


def test_negated_operator_with_several_values_is_nor():
    """'Conditions with multiple context keys or values' (MULTI_VALUE): 'If a single negated
    matching condition operator includes multiple values for a context key, those values are
    evaluated using a logical NOR.'"""
    deny = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                   "Condition": {"StringNotEquals": {"aws:PrincipalTag/role": ["audit", "security"]}}})
    allow = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    for tag, decision in (("audit", Decision.ALLOW), ("security", Decision.ALLOW), ("dev", Decision.EXPLICIT_DENY)):
        result = decide(ROLE, "s3:ListBucket", "arn:aws:s3:::b", [allow, deny], context={"aws:PrincipalTag/role": tag})
        assert result.decision is decision, tag


def test_multiple_operators_keys_and_values():
    """MULTI_VALUE, 'Evaluation logic for multiple context keys or values': operators AND,
    keys within one operator AND, values for one key OR -- the aws:PrincipalTag/department +
    aws:PrincipalTag/role (StringEquals) + aws:PrincipalArn (ArnLike) example."""
    ana, mary, bob = (f"arn:aws:iam::{ACCOUNT}:user/{name}" for name in ("Ana", "Mary", "Bob"))
    pol = policy({
        "Sid": "TaggedAuditors", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::audit/*",
        "Condition": {
            "StringEquals": {"aws:PrincipalTag/department": ["finance", "hr", "legal"],
                             "aws:PrincipalTag/role": ["audit", "security"]},
            "ArnLike": {"aws:PrincipalArn": [ana, mary]},
        },
    })
    obj = "arn:aws:s3:::audit/report.pdf"
    good = {"aws:PrincipalTag/department": "hr", "aws:PrincipalTag/role": "security"}
    assert decide(ana, "s3:GetObject", obj, [pol], context=good).allowed
    assert decide(mary, "s3:GetObject", obj, [pol], context={**good, "aws:PrincipalTag/department": "legal"}).allowed
    assert not decide(ana, "s3:GetObject", obj, [pol], context={**good, "aws:PrincipalTag/department": "it"}).allowed
    assert not decide(ana, "s3:GetObject", obj, [pol], context={"aws:PrincipalTag/department": "hr"}).allowed
    assert not decide(bob, "s3:GetObject", obj, [pol], context=good).allowed


@pytest.mark.parametrize(
    ("requested", "allowed"),
    [
        (["PostDateTime", "Message"], True),
        (["PostDateTime", "UserName"], False),
        (None, True),   # ForAllValues is true when the key is missing ...
        ([], True),     # ... or resolves to an empty data set
    ],
)
def test_forallvalues_dynamodb_attributes(requested, allowed):
    """'Creating a condition with multiple keys or values' (MULTI_VALUE): ForAllValues:StringLike
    on dynamodb:requestedAttributes allows only PostDateTime, Message, Tags; 'If the key values
    in the request resolve to an empty data set ... ForAllValues returns true'."""
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Thread"
    pol = policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table,
                  "Condition": {"ForAllValues:StringLike": {"dynamodb:requestedAttributes":
                                                            ["PostDateTime", "Message", "Tags"]}}})
    ctx = {} if requested is None else {"dynamodb:requestedAttributes": requested}
    assert decide(CARLOS, "dynamodb:GetItem", table, [pol], context=ctx).allowed is allowed


@pytest.mark.parametrize(
    ("requested", "denied"),
    [
        (["UserName", "Message", "PostDateTime"], True),
        (["UserName"], False),
        (None, False),  # ForAnyValue is false when the key is missing
        ([], False),
    ],
)
def test_foranyvalue_dynamodb_deny(requested, denied):
    """MULTI_VALUE: the ForAnyValue:StringLike Deny on PutItem for ID/PostDateTime; 'a condition
    operator modified by ForAnyValue returns false' for an empty data set."""
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Thread"
    deny = policy({"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": table,
                   "Condition": {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}}})
    allow = policy({"Effect": "Allow", "Action": "dynamodb:*", "Resource": table})
    ctx = {} if requested is None else {"dynamodb:requestedAttributes": requested}
    result = decide(CARLOS, "dynamodb:PutItem", table, [allow, deny], context=ctx)
    assert (result.decision is Decision.EXPLICIT_DENY) is denied


@pytest.mark.parametrize(
    ("tag_keys", "denied"),
    [(["key1:legal"], False), (["key1:hr", "key1:personnel"], False), (["key2:audit"], True), (None, True)],
)
def test_forallvalues_stringnotlike_tag_keys(tag_keys, denied):
    """IAM User Guide, 'Multivalued context keys examples' > 'Deny policy with condition set
    operator ForAllValues' (IAM + reference_policies_condition_examples-multi-valued-context-keys.html):
    the DenyRestrictedTags table, including 'No aws:TagKeys in the request context -> Match'."""
    deny = policy({"Sid": "DenyRestrictedTags", "Effect": "Deny", "Action": ["iam:Tag*", "iam:UnTag*"],
                   "Resource": ["*"], "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}})
    allow = policy({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    ctx = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    result = decide(CARLOS, "iam:TagUser", f"arn:aws:iam::{ACCOUNT}:user/bob", [allow, deny], context=ctx)
    assert (result.decision is Decision.EXPLICIT_DENY) is denied


def test_arnlike_matches_segment_by_segment_unlike_stringlike():
    """CONDITION_OPERATORS > 'Amazon Resource Name (ARN) condition operators': the pattern
    arn:aws:someservice:*:111122223333:finance/* matches the odd value with StringLike but
    not with ArnLike, whose first '*' 'matches only us-east-2'."""
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    pattern = "arn:aws:someservice:*:111122223333:finance/*"

    def allowed(operator, source_arn):
        pol = policy({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
                      "Condition": {operator: {"aws:SourceArn": pattern}}})
        return decide(ROLE, "sqs:SendMessage", "*", [pol], context={"aws:SourceArn": source_arn}).allowed

    assert allowed("StringLike", value)
    assert not allowed("ArnLike", value)
    assert not allowed("ArnEquals", value)  # 'ArnEquals and ArnLike ... behave identically'
    good = "arn:aws:someservice:us-east-2:111122223333:finance/document.txt"
    assert allowed("ArnLike", good) and allowed("ArnEquals", good)
    assert not allowed("ArnNotLike", good)


def test_numeric_max_keys():
    """CONDITION_OPERATORS > 'Numeric condition operators': NumericLessThanEquals s3:max-keys 10."""
    pol = policy({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example_bucket",
                  "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}}})
    bucket = "arn:aws:s3:::example_bucket"
    assert decide(CARLOS, "s3:ListBucket", bucket, [pol], context={"s3:max-keys": 10}).allowed
    assert decide(CARLOS, "s3:ListBucket", bucket, [pol], context={"s3:max-keys": "7"}).allowed
    assert not decide(CARLOS, "s3:ListBucket", bucket, [pol], context={"s3:max-keys": 11}).allowed
    assert not decide(CARLOS, "s3:ListBucket", bucket, [pol]).allowed


def test_ip_address_and_not_ip_address():
    """S3_BUCKET_POLICY_EXAMPLES > 'Managing access based on specific IP addresses': allow
    54.240.143.0/24 except 54.240.143.188 -- two operators, both must hold."""
    bucket_policy = policy({
        "Sid": "IPAllow", "Effect": "Allow", "Principal": "*", "Action": "s3:*",
        "Resource": "arn:aws:s3:::examplebucket/*",
        "Condition": {"IpAddress": {"aws:SourceIp": "54.240.143.0/24"},
                      "NotIpAddress": {"aws:SourceIp": "54.240.143.188/32"}},
    })
    obj = "arn:aws:s3:::examplebucket/photo.jpg"
    assert decide(ROLE, "s3:GetObject", obj, [], bucket_policy, context={"aws:SourceIp": "54.240.143.7"}).allowed
    assert not decide(ROLE, "s3:GetObject", obj, [], bucket_policy, context={"aws:SourceIp": "54.240.143.188"}).allowed
    assert not decide(ROLE, "s3:GetObject", obj, [], bucket_policy, context={"aws:SourceIp": "10.0.0.1"}).allowed


def test_notprincipal_deny_exempts_only_the_fully_listed_principal():
    """'AWS JSON policy elements: NotPrincipal' (IAM + reference_policies_elements_notprincipal.html):
    deny everyone except Bob, listing Bob's user ARN *and* his account as recommended."""
    bob = "arn:aws:iam::444455556666:user/Bob"
    alice = "arn:aws:iam::444455556666:user/Alice"
    bucket_policy = policy(
        {"Sid": "OnlyBob", "Effect": "Deny",
         "NotPrincipal": {"AWS": [bob, "arn:aws:iam::444455556666:root"]},
         "Action": "s3:*", "Resource": ["arn:aws:s3:::BUCKETNAME", "arn:aws:s3:::BUCKETNAME/*"]},
        {"Sid": "AllowAccount", "Effect": "Allow", "Principal": {"AWS": "444455556666"},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKETNAME/*"},
    )
    grant = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    obj = "arn:aws:s3:::BUCKETNAME/a"
    assert decide(bob, "s3:GetObject", obj, [grant], bucket_policy).allowed
    assert decide(alice, "s3:GetObject", obj, [grant], bucket_policy).decision is Decision.EXPLICIT_DENY
    # 'If the NotPrincipal element contained only Bob's ARN, the effect of the policy might be
    # to explicitly deny access to the AWS account that contains the user Bob': the evaluator
    # takes the documented risk as the outcome.
    bob_only = policy({**bucket_policy["Statement"][0], "NotPrincipal": {"AWS": bob}},
                      bucket_policy["Statement"][1])
    assert decide(bob, "s3:GetObject", obj, [grant], bob_only).decision is Decision.EXPLICIT_DENY


def test_account_root_user():
    """EVAL_LOGIC: 'all requests are implicitly denied with the exception of the AWS account
    root user, which has full access' (in its own account; an explicit deny still applies,
    and a cross-account request still needs the other account's resource policy)."""
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert decide(root, "s3:DeleteBucket", "arn:aws:s3:::jobs").allowed
    deny = policy({"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
                   "Resource": "arn:aws:s3:::jobs"})
    assert decide(root, "s3:DeleteBucket", "arn:aws:s3:::jobs", [], deny).decision is Decision.EXPLICIT_DENY
    foreign_root = f"arn:aws:iam::{OTHER}:root"
    assert not decide(foreign_root, "s3:GetObject", "arn:aws:s3:::jobs/k").allowed
    share = policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::jobs/*"})
    assert decide(foreign_root, "s3:GetObject", "arn:aws:s3:::jobs/k", [], share).allowed


def test_context_keys_are_case_insensitive_and_principal_keys_are_derived():
    """'IAM JSON policy elements: Condition' (IAM + reference_policies_elements_condition.html):
    'Condition key names are not case-sensitive'; aws:PrincipalArn / aws:PrincipalAccount come
    from the caller ('AWS global condition context keys')."""
    pol = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                  "Condition": {"StringEquals": {"AWS:SOURCEVPC": "vpc-1", "aws:principalaccount": ACCOUNT},
                                "ArnEquals": {"aws:PrincipalArn": ROLE}}})
    assert decide(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", [pol], context={"aws:SourceVpc": "vpc-1"}).allowed
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/k")
    assert request.principal_account == ACCOUNT
    assert Request(BUDGETS, "sns:Publish", TOPIC).principal_account is None
    with pytest.raises(PolicyError):
        Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:PrincipalArn": CARLOS})


# --------------------------------------------------------------------------- refusing to guess


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualz": {"aws:SourceVpc": "vpc-1"}},                    # typo
        {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},  # not modelled
        {"ForSomeValues:StringLike": {"aws:TagKeys": "a*"}},
        {"NullIfExists": {"aws:TokenIssueTime": "true"}},               # 'except the Null condition'
    ],
)
def test_unknown_or_unsupported_operator_raises(condition):
    """CONDITION_OPERATORS lists the operators; anything else must fail loudly, never pass."""
    pol = policy({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition})
    with pytest.raises(PolicyError):
        decide(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", [pol])


@pytest.mark.parametrize(
    ("identity", "resource_policy"),
    [
        # policy variables (IAM + reference_policies_variables.html) and unresolved Terraform tokens
        ([policy({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"})], None),
        ([policy({"Effect": "Allow", "Action": "s3:*", "Resource": "${aws_s3_bucket.b.arn}"})], None),
        # 'You cannot use the Principal element in an identity-based policy.'
        ([policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})], None),
        # 'You cannot use a wildcard to match part of a principal name or ARN.'
        ([], policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"},
                     "Action": "s3:*", "Resource": "*"})),
        # a resource-based statement without a principal
        ([], policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
        # a misspelt element
        ([policy({"Effect": "Allow", "Action": "s3:*", "Resources": "*"})], None),
    ],
)
def test_unmodelled_or_invalid_policies_raise(identity, resource_policy):
    """'IAM JSON policy elements' reference pages: these cannot be decided faithfully."""
    with pytest.raises(PolicyError):
        decide(ROLE, "s3:GetObject", "arn:aws:s3:::home/alice/x", identity, resource_policy)


def test_multivalued_context_needs_a_set_operator_and_result_is_not_truthy():
    """'Single-valued vs. multivalued context keys' (IAM +
    reference_policies_condition-single-vs-multi-valued-context-keys.html): 'Multivalued
    context keys require a condition set operator.' Also `assert result` must not pass."""
    pol = policy({"Effect": "Allow", "Action": "iam:TagUser", "Resource": "*",
                  "Condition": {"StringEquals": {"aws:TagKeys": "team"}}})
    with pytest.raises(PolicyError):
        decide(CARLOS, "iam:TagUser", "*", [pol], context={"aws:TagKeys": ["team", "cost"]})
    result = decide(CARLOS, "iam:TagUser", "*", [pol], context={"aws:TagKeys": "team"})
    assert result.allowed
    with pytest.raises(TypeError):
        bool(result)


# --------------------------------------------------------------------------- VPC endpoint policies

ENDPOINT_POLICIES = "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html"
S3_403 = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html"
S3_VPCE_BUCKET_POLICY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies-vpc-endpoint.html"
GLOBAL_KEYS = IAM + "reference_policies_condition-keys.html"
VPCE = "vpce-1a2b3c4d"
THROUGH_VPCE = {"aws:SourceVpce": VPCE}
OUR_BUCKET = "arn:aws:s3:::awsexamplebucket1"
S3_ALL = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})


def endpoint_allowing(resource: str, **principal) -> dict:
    return policy({"Sid": "OnlyOurBucket", "Effect": "Allow", "Principal": principal.get("principal", "*"),
                   "Action": "s3:*", "Resource": [resource, f"{resource}/*"]})


def test_the_default_endpoint_policy_grants_nothing_by_itself():
    """ENDPOINT_POLICIES: "An endpoint policy does not override or replace identity-based policies or
    resource-based policies": even the default full-access policy allows only what the others allow."""
    from tests.access.evaluator import DEFAULT_ENDPOINT_POLICY

    assert DEFAULT_ENDPOINT_POLICY == {
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]
    }
    kw = {"endpoint_policy": DEFAULT_ENDPOINT_POLICY, "context": THROUGH_VPCE}
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [], **kw).decision is Decision.IMPLICIT_DENY
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], **kw).allowed


def test_the_endpoint_policy_must_allow_too():
    """S3_403, "Access denied due to a VPC endpoint policy": "no VPC endpoint policy allows the
    s3:GetObject action" is an implicit denial, whatever the identity and bucket policies allow."""
    endpoint = endpoint_allowing(OUR_BUCKET)
    other = "arn:aws:s3:::another-bucket/k"
    result = decide(ROLE, "s3:GetObject", other, [S3_ALL], endpoint_policy=endpoint, context=THROUGH_VPCE)
    assert result.decision is Decision.IMPLICIT_DENY and "endpoint policy" in result.reason
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], endpoint_policy=endpoint,
                  context=THROUGH_VPCE).allowed


def test_an_explicit_deny_in_the_endpoint_policy_wins():
    """S3_403: "explicit deny in a VPC endpoint policy"; and Policy evaluation logic: an explicit Deny in
    any applicable policy wins, over an identity Allow and a bucket policy naming the caller."""
    endpoint = policy(
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "*"},
    )
    bucket = policy({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": f"{OUR_BUCKET}/*"})
    result = decide(ROLE, "s3:DeleteObject", f"{OUR_BUCKET}/k", [S3_ALL], bucket, endpoint_policy=endpoint,
                    context=THROUGH_VPCE)
    assert result.decision is Decision.EXPLICIT_DENY and "NoDeletes" in result.reason
    # Even when IAM alone would refuse it: the explicit deny is what is reported.
    result = decide(ROLE, "s3:DeleteObject", f"{OUR_BUCKET}/k", [], endpoint_policy=endpoint, context=THROUGH_VPCE)
    assert result.decision is Decision.EXPLICIT_DENY


def test_bucket_policy_restricting_access_to_a_specific_vpc_endpoint():
    """S3_VPCE_BUCKET_POLICY, "Restricting access to a specific VPC endpoint": a Deny of s3:* with
    StringNotEquals aws:SourceVpce. GLOBAL_KEYS: aws:SourceVpce "is included in the request context only
    if the requester uses a VPC endpoint", and CONDITION_OPERATORS: a negated operator on an absent key is
    true, so every request from outside the endpoint is denied."""
    bucket = policy({"Sid": "Access-to-specific-VPCE-only", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": [OUR_BUCKET, f"{OUR_BUCKET}/*"],
                     "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE}}})
    outside = decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], bucket)
    assert outside.decision is Decision.EXPLICIT_DENY
    other_endpoint = decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], bucket,
                            endpoint_policy=endpoint_allowing(OUR_BUCKET), context={"aws:SourceVpce": "vpce-9f8e7d6c"})
    assert other_endpoint.decision is Decision.EXPLICIT_DENY
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], bucket,
                  endpoint_policy=endpoint_allowing(OUR_BUCKET), context=THROUGH_VPCE).allowed


def test_negated_arn_operator_exempts_named_principals_when_the_key_is_absent():
    """The private bucket's shape: Deny unless aws:SourceVpce is ours (absent: StringNotEquals true), and
    ArnNotEquals aws:PrincipalArn (always present) exempts the listed roles; conditions AND together."""
    exempt = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBraketJobsExecutionRole-x"
    bucket = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{OUR_BUCKET}/*",
                     "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE},
                                   "ArnNotEquals": {"aws:PrincipalArn": [exempt]}}})
    assert decide(exempt, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], bucket).allowed
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], bucket).decision is Decision.EXPLICIT_DENY


def test_gateway_endpoint_principals():
    """ENDPOINT_POLICIES, 'Principals for gateway endpoints': name principals with Principal "*" and the
    aws:PrincipalArn condition key; "If you specify the principal in the format "AWS": "account_id",
    access is granted to the AWS account root user only, and not all users and roles for the account"."""
    by_condition = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
                           "Condition": {"StringEquals": {"aws:PrincipalArn": ROLE}}})
    kw = {"endpoint_policy": by_condition, "gateway_endpoint": True, "context": THROUGH_VPCE}
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], **kw).allowed
    assert decide(CARLOS, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], **kw).decision is Decision.IMPLICIT_DENY
    by_account = endpoint_allowing(OUR_BUCKET, principal={"AWS": ACCOUNT})
    kw = {"endpoint_policy": by_account, "gateway_endpoint": True, "context": THROUGH_VPCE}
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], **kw).decision is Decision.IMPLICIT_DENY
    assert decide(f"arn:aws:iam::{ACCOUNT}:root", "s3:GetObject", f"{OUR_BUCKET}/k", **kw).allowed
    with pytest.raises(PolicyError, match="gateway"):
        decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], endpoint_policy=endpoint_allowing(
            OUR_BUCKET, principal={"AWS": ROLE}), gateway_endpoint=True, context=THROUGH_VPCE)


def test_interface_endpoint_principals():
    """CodeArtifact User Guide, "Create a VPC endpoint policy for CodeArtifact": Principal
    {"AWS": "arn:aws:iam::123456789012:root"} "specifies that principals in the account 123456789012"
    may call; a role ARN names that role."""
    action, repository = "codeartifact:ReadFromRepository", f"arn:aws:codeartifact:us-east-1:{ACCOUNT}:repository/d/r"
    allow_all = policy({"Effect": "Allow", "Action": "codeartifact:*", "Resource": "*"})
    for principal, who, allowed in (
        (f"arn:aws:iam::{ACCOUNT}:root", ROLE, True),
        (f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{OTHER}:role/theirs", False),
        (ROLE, ROLE, True),
        (ROLE, CARLOS, False),
    ):
        endpoint = policy({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"})
        account = who.split(":")[4]
        result = decide(who, action, repository.replace(ACCOUNT, account), [allow_all], endpoint_policy=endpoint,
                        context=THROUGH_VPCE, resource_account=account)
        assert result.allowed is allowed, (principal, who)


@pytest.mark.parametrize(
    "statement",
    [
        # "You can't use wildcard characters (* or ?) or numeric condition operators with global context
        # keys that reference system-generated identifiers (for example, aws:PrincipalAccount or aws:SourceVpc)."
        {"Condition": {"StringLike": {"aws:PrincipalAccount": "1234567890*"}}},
        {"Condition": {"NumericEquals": {"aws:PrincipalAccount": "123456789012"}}},
        {"Condition": {"StringEquals": {"aws:SourceVpc": "vpc-*"}}},
        # "When using string condition operators, you must use at least six consecutive characters before
        # or after each wildcard character."
        {"Condition": {"StringLike": {"aws:PrincipalArn": "arn*"}}},
        # "When you specify an ARN in the resource or condition element, the account portion of the ARN can
        # contain an account ID or a wildcard character, but not both."
        {"Resource": "arn:aws:s3:us-east-1:1234*:accesspoint/x"},
        {"Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1234*:role/x"}}},
    ],
)
def test_endpoint_policy_restrictions_are_enforced(statement):
    """ENDPOINT_POLICIES, "Considerations": policies AWS does not accept (or does not evaluate as written)
    cannot be decided."""
    endpoint = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*", **statement})
    with pytest.raises(PolicyError):
        decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], endpoint_policy=endpoint, context=THROUGH_VPCE)
    # Allowed forms: an account ID or "*" alone, six characters beside a wildcard.
    fine = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::*",
                   "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/service-role/*"},
                                 "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}})
    assert decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], endpoint_policy=fine, context=THROUGH_VPCE).allowed


def test_an_endpoint_and_aws_sourcevpce_go_together():
    """GLOBAL_KEYS: aws:SourceVpce is in the context exactly when the request comes through an endpoint,
    and then the endpoint's policy decides too; AWS services never call through your endpoint."""
    with pytest.raises(PolicyError, match="endpoint_policy"):
        decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], context=THROUGH_VPCE)
    with pytest.raises(PolicyError, match="aws:SourceVpce"):
        decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], endpoint_policy=endpoint_allowing(OUR_BUCKET))
    with pytest.raises(PolicyError, match="never through"):
        decide("braket.amazonaws.com", "s3:PutObject", f"{OUR_BUCKET}/k", endpoint_policy=endpoint_allowing(OUR_BUCKET),
               context=THROUGH_VPCE)
    with pytest.raises(PolicyError, match="NotPrincipal"):
        decide(ROLE, "s3:GetObject", f"{OUR_BUCKET}/k", [S3_ALL], context=THROUGH_VPCE, endpoint_policy=policy(
            {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"}))
