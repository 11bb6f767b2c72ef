"""QuantumResultsBucket: the S3 bucket where Amazon Braket writes task results."""

from __future__ import annotations

import enum
import re
from typing import Optional, Protocol, Sequence, Union

from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from .aws.data_aws_partition import DataAwsPartition
from .aws.data_aws_region import DataAwsRegion
from .aws.kms_key import KmsKey
from .aws.s3_bucket import S3Bucket
from .aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from .aws.s3_bucket_logging import S3BucketLoggingA
from .aws.s3_bucket_notification import S3BucketNotification
from .aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from .aws.s3_bucket_policy import S3BucketPolicy
from .aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from .aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from .aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from .cdk import TerraformProvider
from constructs import Construct

from ._kms import key_policy
from ._policy import PolicyStatements
from ._scope import apply_provider, check_provider, path_sid
from ._validation import is_whole, require, require_bool, require_texts

BRAKET_BUCKET_PREFIX = "amazon-braket-"
# Braket writes results.json as this service-linked role (path and name fixed by IAM).
BRAKET_SERVICE_LINKED_ROLE = "role/aws-service-role/braket.amazonaws.com/AWSServiceRoleForAmazonBraket"
# Reading and writing objects: what a bucket pinned to VPC endpoints refuses from elsewhere. Bucket
# configuration (the deployer's calls, from outside the VPC) is not among them, nor s3:ListBucket:
# Terraform reads a bucket with HeadBucket, which S3 authorizes as s3:ListBucket (S3 API Reference,
# HeadBucket), so listing keys (never contents) stays with IAM.
S3_OBJECT_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:DeleteObject*",
    "s3:GetObject*",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:ListMultipartUploadParts",
    "s3:PutObject*",
    "s3:RestoreObject",
]
# S3 bucket naming rules: 3-63 chars, lowercase letters, digits, dots and hyphens.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A key ARN, or a Terraform reference to one (e.g. another stack's or a data source's key).
_KMS_KEY_ARN = re.compile(r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+|\$\{[^}]+\})$")
_LOG_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/?$")
# Reserved by S3: names with these prefixes or suffixes are refused at creation.
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")


def is_bucket_name(name: object) -> bool:
    """``name`` is a name S3 accepts for a general purpose bucket (length, characters, no '..',
    no reserved prefix or suffix)."""
    return (
        isinstance(name, str)
        and bool(_BUCKET_NAME.match(name))
        and ".." not in name
        and not name.startswith(_RESERVED_PREFIXES)
        and not name.endswith(_RESERVED_SUFFIXES)
    )


def check_bucket_name(bucket_name: object) -> None:
    """ValueError in one line unless ``bucket_name`` is a name S3 accepts (``is_bucket_name``)."""
    require(
        is_bucket_name(bucket_name),
        "bucket_name",
        bucket_name,
        "an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
    )


def default_access_log_prefix(bucket_name: str) -> str:
    """Where the S3 server access logs of ``bucket_name`` go in their log bucket: ``s3-access/<bucket_name>/``
    (the default of every bucket of this library that logs, and of ``AccessLogBucket.allow_logging_from``)."""
    return f"s3-access/{bucket_name}/"


def deny_insecure_transport(bucket_arn: str) -> DataAwsIamPolicyDocumentStatement:
    """The bucket-policy statement every bucket of this library has: any request without TLS is refused."""
    return DataAwsIamPolicyDocumentStatement(
        sid="DenyInsecureTransport",
        effect="Deny",
        actions=["s3:*"],
        resources=[bucket_arn, f"{bucket_arn}/*"],
        principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])],
        condition=[
            DataAwsIamPolicyDocumentStatementCondition(test="Bool", variable="aws:SecureTransport", values=["false"])
        ],
    )


class BucketEncryption(enum.Enum):
    """Server-side encryption of the results bucket."""

    KMS = "aws:kms"
    """A customer-managed KMS key with automatic rotation, created with the bucket."""
    S3_MANAGED = "AES256"
    """SSE-S3: keys managed by S3. No KMS charges, no key policy to manage."""


class AccessLogDestination(Protocol):
    """A bucket construct that receives S3 server access logs, such as an ``AccessLogBucket``."""

    literal_bucket_name: str
    bucket_name: str
    bucket_policy: S3BucketPolicy

    def allow_logging_from(self, source: "LibraryBucket", prefix: Optional[str] = None) -> bool: ...


class Grantable(Protocol):
    """A role that owns one policy grants append to, such as a ``BraketNotebookRole``."""

    def add_to_policy(self, statement: DataAwsIamPolicyDocumentStatement) -> bool: ...


def private_bucket_settings(
    scope: Construct, bucket_id: str, *, sse_algorithm: str, kms_key_arn: Optional[str], versioned: bool = True
) -> S3BucketVersioningA:
    """What every bucket of this library gets, as resources in ``scope`` (ids ``PublicAccessBlock``,
    ``OwnershipControls``, ``Encryption``, ``Versioning``): all four public access block settings,
    ACLs disabled (bucket owner enforced), default encryption (with an S3 Bucket Key when a KMS key
    is given), and versioning on (or suspended). Returns the versioning resource, which Object Lock
    and replication configurations must come after."""
    S3BucketPublicAccessBlock(
        scope,
        "PublicAccessBlock",
        bucket=bucket_id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    S3BucketOwnershipControls(
        scope,
        "OwnershipControls",
        bucket=bucket_id,
        rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
    )
    S3BucketServerSideEncryptionConfigurationA(
        scope,
        "Encryption",
        bucket=bucket_id,
        rule=[
            S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm=sse_algorithm,
                        kms_master_key_id=kms_key_arn,
                    )
                ),
                bucket_key_enabled=kms_key_arn is not None,
            )
        ],
    )
    return S3BucketVersioningA(
        scope,
        "Versioning",
        bucket=bucket_id,
        versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled" if versioned else "Suspended"),
    )


def abort_incomplete_uploads_rule() -> S3BucketLifecycleConfigurationRule:
    """The lifecycle rule every bucket of this library has: incomplete multipart uploads aborted after 7 days."""
    return S3BucketLifecycleConfigurationRule(
        id="abort-incomplete-multipart-uploads",
        status="Enabled",
        filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
        abort_incomplete_multipart_upload=[
            S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
        ],
    )


def expired_delete_markers_rule() -> S3BucketLifecycleConfigurationRule:
    """A lifecycle rule removing the delete markers left alone once noncurrent versions expire. A
    rule of its own: S3 refuses ExpiredObjectDeleteMarker beside Days in one Expiration."""
    return S3BucketLifecycleConfigurationRule(
        id="remove-expired-delete-markers",
        status="Enabled",
        filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
        expiration=[S3BucketLifecycleConfigurationRuleExpiration(expired_object_delete_marker=True)],
    )


def check_access_logging(bucket_name: str, access_log_bucket: object, access_log_prefix: object) -> None:
    """ValueError in one line unless ``access_log_bucket`` is None, a log bucket construct
    (``AccessLogBucket``) or the name of another bucket, and ``access_log_prefix`` None or a
    relative key prefix."""
    log_bucket_name = getattr(access_log_bucket, "literal_bucket_name", access_log_bucket)
    require(
        access_log_bucket is None
        or (
            (isinstance(access_log_bucket, str) or callable(getattr(access_log_bucket, "allow_logging_from", None)))
            and is_bucket_name(log_bucket_name)
            and log_bucket_name != bucket_name
        ),
        "access_log_bucket",
        access_log_bucket,
        "None, an AccessLogBucket, or the name of another, existing S3 bucket that lets logging.s3.amazonaws.com write",
    )
    require(
        access_log_prefix is None or (isinstance(access_log_prefix, str) and bool(_LOG_PREFIX.match(access_log_prefix))),
        "access_log_prefix",
        access_log_prefix,
        "None or a relative key prefix such as 's3-access/results/' (no leading '/')",
    )


class LibraryBucket(Construct):
    """What every bucket construct of this library shares: its attributes, and S3 server access
    logging (``_log_access``). A subclass sets ``bucket``, ``_bucket_name``, ``_bucket_arn`` and,
    with a KMS key, ``_key_arn``."""

    bucket: S3Bucket
    _bucket_name: str
    _bucket_arn: str
    _key_arn: Optional[str] = None

    @property
    def bucket_name(self) -> str:
        """The bucket's name (a Terraform reference; ``literal_bucket_name`` is the plain string)."""
        return self.bucket.bucket

    @property
    def literal_bucket_name(self) -> str:
        """The bucket name as given (a plain string, never a Terraform reference)."""
        return self._bucket_name

    @property
    def bucket_arn(self) -> str:
        """The bucket's ARN (a Terraform reference)."""
        return self._bucket_arn

    @property
    def kms_key_arn(self) -> Optional[str]:
        """The ARN of the bucket's KMS key (a Terraform reference), or None with SSE-S3."""
        return self._key_arn

    def _log_access(self, access_log_bucket: object, access_log_prefix: Optional[str]) -> None:
        """S3 server access logs of the bucket to ``access_log_bucket`` (as ``check_access_logging``
        allows) under ``access_log_prefix`` (default ``s3-access/<bucket_name>/``). A log bucket
        construct is told to accept them (``allow_logging_from``), and Terraform creates it and its
        policy before the logging configuration, which S3 refuses until they exist."""
        if access_log_bucket is None:
            return
        prefix = access_log_prefix or default_access_log_prefix(self._bucket_name)
        if isinstance(access_log_bucket, str):
            target, depends_on = access_log_bucket, None
        else:
            access_log_bucket.allow_logging_from(self, prefix)
            target, depends_on = access_log_bucket.bucket_name, [access_log_bucket.bucket_policy]
        S3BucketLoggingA(
            self, "AccessLogging", bucket=self.bucket.id, target_bucket=target, target_prefix=prefix, depends_on=depends_on
        )


class QuantumResultsBucket(LibraryBucket):
    """The S3 bucket where Amazon Braket writes quantum task results.

    Secure by default:
    - public access block with all four flags on;
    - object ownership enforced (ACLs disabled);
    - encryption: default a customer-managed KMS key with rotation
      (``encryption=BucketEncryption.S3_MANAGED`` for SSE-S3);
    - versioning: default enabled;
    - a bucket policy that denies every request made without TLS;
    - lifecycle: incomplete multipart uploads aborted after 7 days; results
      transitioned to STANDARD_IA and expired only when asked;
    - access logging: default off, on when ``access_log_bucket`` is given;
    - event notifications to Amazon EventBridge: default on, so anyone can react
      when results land (an EventBridge rule on "Object Created" under the prefix);
    - force_destroy: default off, so ``terraform destroy`` never deletes results.

    :param bucket_name: must start with ``amazon-braket-``: the AWS managed Braket
        policies only grant S3 access to such buckets.
    :param results_prefix: key prefix under which tasks write results. Default: ``results``.
    :param encryption: default ``BucketEncryption.KMS``.
    :param versioned: default True.
    :param transition_to_ia_days: move results to STANDARD_IA after this many days.
        Default: None (never).
    :param expire_after_days: delete results (and noncurrent versions) after this
        many days. Default: None (kept forever).
    :param access_log_bucket: where the bucket's S3 server access logs go: an ``AccessLogBucket``
        (which is then told to accept them), or the name of an existing bucket of the same account
        and region that lets ``logging.s3.amazonaws.com`` write them. Default: None (no access logging).
    :param access_log_prefix: key prefix for access logs. Default: ``s3-access/<bucket_name>/``.
    :param force_destroy: allow ``terraform destroy`` to delete a non-empty bucket.
        Default: False.
    :param eventbridge_notifications: send the bucket's events to EventBridge. Default: True.

    :param kms_key_arn: an existing, centrally managed KMS key for the bucket instead of a
        new one (with ``encryption=BucketEncryption.KMS``). Its key policy is then yours: it
        must let the granted roles and Braket's service-linked role use the key via S3 (as the
        statement ``BraketServiceLinkedRoleWritesResultsViaS3`` of the key this construct
        creates does). Default: None (a key with rotation is created).
    :param provider: the AWS provider of every resource and data source of this bucket
        (e.g. an aliased one for another region). Default: the stack's default provider.

    Attributes: ``bucket_name``, ``bucket_arn``, ``literal_bucket_name``, ``results_prefix``,
    ``kms_key_arn``; and, for escape hatches, the resources ``bucket`` (``S3Bucket``) and
    ``kms_key`` (``KmsKey``, or None with SSE-S3 or an existing key).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        results_prefix: str = "results",
        encryption: BucketEncryption = BucketEncryption.KMS,
        versioned: bool = True,
        transition_to_ia_days: Optional[int] = None,
        expire_after_days: Optional[int] = None,
        access_log_bucket: Optional[Union[str, AccessLogDestination]] = None,
        access_log_prefix: Optional[str] = None,
        force_destroy: bool = False,
        eventbridge_notifications: bool = True,
        kms_key_arn: Optional[str] = None,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        _validate_bucket_name(bucket_name)
        require(
            isinstance(results_prefix, str) and bool(_PREFIX.match(results_prefix)),
            "results_prefix",
            results_prefix,
            "a relative S3 key prefix without leading or trailing '/', e.g. 'results'",
        )
        require(
            isinstance(encryption, BucketEncryption),
            "encryption",
            encryption,
            "BucketEncryption.KMS or BucketEncryption.S3_MANAGED",
        )
        require(
            kms_key_arn is None or (isinstance(kms_key_arn, str) and bool(_KMS_KEY_ARN.match(kms_key_arn))),
            "kms_key_arn",
            kms_key_arn,
            "None (a key is created) or a KMS key ARN such as 'arn:aws:kms:eu-west-2:123456789012:key/<id>'",
        )
        require(
            kms_key_arn is None or encryption is BucketEncryption.KMS,
            "kms_key_arn",
            kms_key_arn,
            "a key only with encryption=BucketEncryption.KMS",
        )
        for prop, days in (("transition_to_ia_days", transition_to_ia_days), ("expire_after_days", expire_after_days)):
            require(days is None or (is_whole(days) and days > 0), prop, days, "None or a positive number of days")
        for prop, flag in (
            ("versioned", versioned),
            ("force_destroy", force_destroy),
            ("eventbridge_notifications", eventbridge_notifications),
        ):
            require_bool(prop, flag)
        # S3 refuses STANDARD_IA transitions before day 30.
        require(
            transition_to_ia_days is None or transition_to_ia_days >= 30,
            "transition_to_ia_days",
            transition_to_ia_days,
            "at least 30 (S3's minimum age for STANDARD_IA)",
        )
        if transition_to_ia_days and expire_after_days:
            require(
                expire_after_days > transition_to_ia_days,
                "expire_after_days",
                expire_after_days,
                f"more than transition_to_ia_days ({transition_to_ia_days})",
            )
        check_access_logging(bucket_name, access_log_bucket, access_log_prefix)

        self._results_prefix = results_prefix
        self._granted: list[tuple[Grantable, str]] = []
        self._provider = provider
        self._bucket_name = bucket_name

        self.kms_key: Optional[KmsKey] = None
        """The customer-managed key this construct created (None with SSE-S3 or ``kms_key_arn``)."""
        self._key_arn: Optional[str] = kms_key_arn
        if encryption is BucketEncryption.KMS:
            self._via_s3 = DataAwsIamPolicyDocumentStatementCondition(
                test="StringEquals",
                variable="kms:ViaService",
                values=[f"s3.{DataAwsRegion(self, 'Region').region}.amazonaws.com"],
            )
        if encryption is BucketEncryption.KMS and kms_key_arn is None:
            self.kms_key = KmsKey(
                self,
                "Key",
                description=f"Encrypts Amazon Braket results in {bucket_name}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=self._key_policy().json,
            )
            self._key_arn = self.kms_key.arn

        self.bucket = S3Bucket(self, "Bucket", bucket=bucket_name, force_destroy=force_destroy)
        bucket_id = self.bucket.id
        # One token for the ARN, so statements granted twice compare equal.
        self._bucket_arn = self.bucket.arn

        private_bucket_settings(self, bucket_id, sse_algorithm=encryption.value, kms_key_arn=self._key_arn,
                                versioned=versioned)
        self._bucket_policy = self._tls_only_policy()
        S3BucketPolicy(self, "Policy", bucket=bucket_id, policy=self._bucket_policy.json)
        S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            bucket=bucket_id,
            rule=self._lifecycle_rules(transition_to_ia_days, expire_after_days),
        )
        if eventbridge_notifications:
            S3BucketNotification(self, "Notifications", bucket=bucket_id, eventbridge=True)
        self._log_access(access_log_bucket, access_log_prefix)
        apply_provider(self, provider)

    # -- attributes ---------------------------------------------------------
    @property
    def results_prefix(self) -> str:
        """The key prefix under which Braket writes results, e.g. ``results``."""
        return self._results_prefix

    # -- grants -------------------------------------------------------------
    def grant_read_write(self, role: Grantable, prefix: Optional[str] = None) -> bool:
        """Let ``role`` read, write and list objects under one key prefix of this bucket only.

        :param prefix: default the results prefix (Braket writes results with the caller's
            permissions, so the role that creates quantum tasks needs write access to it);
            another relative prefix such as ``jobs`` for what hybrid jobs read and write.

        The statements join the role's one policy; their Sids name this bucket's construct
        path, and the prefix when it is not the results prefix (``ResultsObjects``,
        ``ResultsJobsObjects``), so several prefixes of several buckets combine. The bucket's
        key (through S3 only) and ``s3:GetBucketLocation`` are granted once whatever the
        prefixes. Granting the same role the same prefix twice changes nothing. Returns whether
        anything was added.
        """
        require(
            callable(getattr(role, "add_to_policy", None)),
            "role",
            role,
            "a BraketNotebookRole (or another role with add_to_policy(statement))",
        )
        prefix = self._results_prefix if prefix is None else prefix
        require(
            isinstance(prefix, str) and bool(_PREFIX.match(prefix)),
            "prefix",
            prefix,
            "None (the results prefix) or a relative S3 key prefix without leading or trailing '/', e.g. 'jobs'",
        )
        if any(granted is role and granted_prefix == prefix for granted, granted_prefix in self._granted):
            return False
        self._granted.append((role, prefix))
        sid = path_sid(self)
        scoped = sid if prefix == self._results_prefix else sid + "".join(
            part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", prefix) if part
        )
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid=f"{scoped}Objects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[f"{self._bucket_arn}/{prefix}/*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid=f"{scoped}Listing",
                actions=["s3:ListBucket"],
                resources=[self._bucket_arn],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringLike",
                        variable="s3:prefix",
                        values=[prefix, f"{prefix}/*"],
                    )
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid=f"{sid}BucketLocation", actions=["s3:GetBucketLocation"], resources=[self._bucket_arn]
            ),
        ]
        if self._key_arn is not None:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid=f"{sid}KeyViaS3",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[self._key_arn],
                    # The key serves the bucket: it encrypts and decrypts through S3 only.
                    condition=[self._via_s3],
                )
            )
        added = [role.add_to_policy(statement) for statement in statements]
        return any(added)

    def restrict_to_vpc_endpoints(self, endpoint_ids: Sequence[str], *, exempt_principal_arns: Sequence[str] = ()) -> None:
        """Refuse reading and writing objects except through the VPC endpoints ``endpoint_ids``.

        A Deny in the bucket policy on ``S3_OBJECT_ACTIONS`` unless ``aws:SourceVpce`` is one of
        ``endpoint_ids``; a request from the internet or another VPC carries no such key and is
        refused. Exempt by ``aws:PrincipalArn``: Braket's service-linked role, always (it writes
        results.json from Braket's network, not through your endpoint), and
        ``exempt_principal_arns`` (e.g. a ``BraketJobsExecutionRole``, whose job containers also run
        in Braket's network, and a break-glass administrator role). Bucket configuration calls,
        such as the deployer's, are not object actions and stay with IAM. Once per bucket.
        """
        require_texts("endpoint_ids", endpoint_ids, "one or more VPC endpoint ids, e.g. [network.endpoint_id('s3')]")
        require(bool(endpoint_ids), "endpoint_ids", endpoint_ids, "at least one VPC endpoint id")
        require_texts("exempt_principal_arns", exempt_principal_arns, "a list of IAM role ARNs")
        partition, account = self._partition_and_account()
        self._bucket_policy.add(
            DataAwsIamPolicyDocumentStatement(
                sid="DenyObjectAccessOutsideVpcEndpoints",
                effect="Deny",
                actions=S3_OBJECT_ACTIONS,
                resources=[self._bucket_arn, f"{self._bucket_arn}/*"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringNotEquals", variable="aws:SourceVpce", values=list(endpoint_ids)
                    ),
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="ArnNotEquals",
                        variable="aws:PrincipalArn",
                        values=[f"arn:{partition}:iam::{account}:{BRAKET_SERVICE_LINKED_ROLE}", *exempt_principal_arns],
                    ),
                ],
            )
        )

    # -- internals ----------------------------------------------------------
    def _partition_and_account(self) -> tuple[str, str]:
        partition = self.node.try_find_child("Partition") or DataAwsPartition(self, "Partition")
        account = self.node.try_find_child("Account") or DataAwsCallerIdentity(self, "Account")
        apply_provider(self, self._provider)
        return partition.partition, account.account_id

    def _key_policy(self) -> DataAwsIamPolicyDocument:
        partition, account = self._partition_and_account()
        # Braket writes results.json as its service-linked role, whose managed policy
        # (AmazonBraketServiceRolePolicy) has S3 on amazon-braket-* and no KMS action: only
        # the key policy can let it encrypt, and only through S3. The role is named in a
        # condition, not as the principal, because KMS refuses a key policy naming a role
        # that does not exist yet (an account that never opened Braket's console).
        return key_policy(
            self,
            partition,
            account,
            sid="BraketServiceLinkedRoleWritesResultsViaS3",
            principals=DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=["*"]),
            conditions=[
                DataAwsIamPolicyDocumentStatementCondition(
                    test="ArnEquals",
                    variable="aws:PrincipalArn",
                    values=[f"arn:{partition}:iam::{account}:{BRAKET_SERVICE_LINKED_ROLE}"],
                ),
                DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="kms:CallerAccount", values=[account]
                ),
                self._via_s3,
            ],
        )

    def _tls_only_policy(self) -> PolicyStatements:
        return PolicyStatements(self, "TlsOnly", [deny_insecure_transport(self.bucket.arn)])

    def _lifecycle_rules(
        self, transition_to_ia_days: Optional[int], expire_after_days: Optional[int]
    ) -> list[S3BucketLifecycleConfigurationRule]:
        rules = [abort_incomplete_uploads_rule()]
        if transition_to_ia_days or expire_after_days:
            rules.append(
                S3BucketLifecycleConfigurationRule(
                    id="results-retention",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix=f"{self._results_prefix}/")],
                    transition=[
                        S3BucketLifecycleConfigurationRuleTransition(
                            days=transition_to_ia_days, storage_class="STANDARD_IA"
                        )
                    ]
                    if transition_to_ia_days
                    else None,
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=expire_after_days)]
                    if expire_after_days
                    else None,
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=expire_after_days
                        )
                    ]
                    if expire_after_days
                    else None,
                )
            )
        return rules


def _validate_bucket_name(name: str) -> None:
    require(
        isinstance(name, str) and name.startswith(BRAKET_BUCKET_PREFIX),
        "bucket_name",
        name,
        f"a name starting with '{BRAKET_BUCKET_PREFIX}' (the AWS managed Braket policies only reach such buckets)",
    )
    require(
        bool(_BUCKET_NAME.match(name)) and ".." not in name,
        "bucket_name",
        name,
        "3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
    )
    require(
        not name.startswith(_RESERVED_PREFIXES) and not name.endswith(_RESERVED_SUFFIXES),
        "bucket_name",
        name,
        f"a name S3 accepts: not starting {', '.join(_RESERVED_PREFIXES)} nor ending {', '.join(_RESERVED_SUFFIXES)}",
    )

