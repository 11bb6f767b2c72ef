"""TerraformStateBucket: the S3 bucket and KMS key that hold other stacks' Terraform state."""

from __future__ import annotations

import re
from typing import Optional, Union

from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from .aws.data_aws_partition import DataAwsPartition
from .aws.kms_alias import KmsAlias
from .aws.kms_key import KmsKey
from .aws.s3_bucket import S3Bucket
from .aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from .aws.s3_bucket_notification import S3BucketNotification
from .aws.s3_bucket_policy import S3BucketPolicy
from .cdk import TerraformProvider, TerraformResourceLifecycle
from constructs import Construct

from ._kms import account_administers_key
from ._policy import PolicyStatements
from ._scope import apply_provider, check_provider
from ._validation import is_whole, require, require_bool
from .bucket import (
    AccessLogDestination,
    LibraryBucket,
    abort_incomplete_uploads_rule,
    check_access_logging,
    check_bucket_name,
    deny_insecure_transport,
    expired_delete_markers_rule,
    private_bucket_settings,
)

# KMS alias names: "alias/" and 1-250 of A-Za-z0-9/_- ; "alias/aws/" is reserved for AWS managed keys.
_KEY_ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")


class TerraformStateBucket(LibraryBucket):
    """The S3 bucket where other stacks keep their Terraform state (the ``S3Backend``), and its KMS key.

    What Terraform's S3 backend documentation asks of the bucket, and what state deserves (it
    holds every resource's attributes, secrets among them):

    - versioning on: every state write is a version, so a bad apply or a corrupted state can be
      rolled back; noncurrent versions expire after ``noncurrent_version_expiration_days``
      (default 90), then their delete markers; incomplete multipart uploads are aborted after 7 days;
    - default encryption with a customer-managed KMS key of its own (rotation on, 30-day deletion
      window, an S3 Bucket Key), named by the alias ``key_alias``: the backend's ``kms_key_id``.
      The key policy gives the account the key and delegates its use to IAM policies (a deployer's
      policy grants it through S3 only: ``python -m stacks.deployer_policy``);
    - public access block with all four flags on; ACLs disabled (bucket owner enforced);
    - a bucket policy that refuses every request without TLS;
    - ``prevent_destroy`` on the bucket, the key and the alias: Terraform refuses any plan that
      would destroy them (every stack's state would go with them); ``force_destroy`` never;
    - access logging when ``access_log_bucket`` is given; events to EventBridge (default on).

    S3-native state locking (Terraform >= 1.10, ``use_lockfile``) needs nothing more: the lock is
    an object (``<key>.tflock``) beside the state.

    :param bucket_name: the bucket's name (S3's naming rules; global).
    :param key_alias: the key's alias, ``alias/...`` (not ``alias/aws/...``). Default: ``alias/<bucket_name>``.
    :param noncurrent_version_expiration_days: days a replaced or deleted state version is kept. Default: 90.
    :param noncurrent_versions_to_keep: the newest noncurrent versions kept whatever their age
        (S3's ``NewerNoncurrentVersions``, 1-100). Default: 10.
    :param access_log_bucket: where S3 server access logs of the bucket go: an ``AccessLogBucket``
        (which is then told to accept them: ``allow_logging_from``), or the name of an existing
        bucket of the same account and region that lets ``logging.s3.amazonaws.com`` write them.
        Default: None (no access logging).
    :param access_log_prefix: default ``s3-access/<bucket_name>/``.
    :param eventbridge_notifications: send the bucket's events to EventBridge. Default: True.
    :param provider: the AWS provider of every resource and data source. Default: the stack's.

    Attributes: ``bucket_name``, ``literal_bucket_name``, ``bucket_arn``, ``kms_key_arn``,
    ``key_alias`` (the alias name, for ``S3Backend(kms_key_id=...)``), ``key_alias_arn``;
    resources ``bucket``, ``kms_key``, ``alias``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        key_alias: Optional[str] = None,
        noncurrent_version_expiration_days: int = 90,
        noncurrent_versions_to_keep: int = 10,
        access_log_bucket: Optional[Union[str, AccessLogDestination]] = None,
        access_log_prefix: Optional[str] = None,
        eventbridge_notifications: bool = True,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        check_bucket_name(bucket_name)
        key_alias = f"alias/{bucket_name}" if key_alias is None else key_alias
        require(
            isinstance(key_alias, str) and bool(_KEY_ALIAS.match(key_alias)),
            "key_alias",
            key_alias,
            "None (alias/<bucket_name>) or a KMS alias name 'alias/...' of A-Za-z0-9/_- (not 'alias/aws/...')",
        )
        require(
            is_whole(noncurrent_version_expiration_days) and noncurrent_version_expiration_days > 0,
            "noncurrent_version_expiration_days",
            noncurrent_version_expiration_days,
            "a positive number of days",
        )
        require(
            is_whole(noncurrent_versions_to_keep) and 1 <= noncurrent_versions_to_keep <= 100,
            "noncurrent_versions_to_keep",
            noncurrent_versions_to_keep,
            "a whole number from 1 to 100 (S3's NewerNoncurrentVersions)",
        )
        check_access_logging(bucket_name, access_log_bucket, access_log_prefix)
        require_bool("eventbridge_notifications", eventbridge_notifications)
        self._bucket_name = bucket_name
        self._key_alias = key_alias
        kept = TerraformResourceLifecycle(prevent_destroy=True)

        partition = DataAwsPartition(self, "Partition").partition
        account = DataAwsCallerIdentity(self, "Account").account_id
        key_policy = DataAwsIamPolicyDocument(self, "KeyPolicy", statement=[account_administers_key(partition, account)])
        self.kms_key = KmsKey(
            self,
            "Key",
            description=f"Encrypts the Terraform state in {bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy.json,
            lifecycle=kept,
        )
        self._key_arn = self.kms_key.arn
        self.alias = KmsAlias(self, "Alias", name=key_alias, target_key_id=self.kms_key.key_id, lifecycle=kept)

        self.bucket = S3Bucket(self, "Bucket", bucket=bucket_name, force_destroy=False, lifecycle=kept)
        bucket_id = self.bucket.id
        self._bucket_arn = self.bucket.arn
        private_bucket_settings(self, bucket_id, sse_algorithm="aws:kms", kms_key_arn=self._key_arn)
        policy = PolicyStatements(self, "PolicyDocument", [deny_insecure_transport(self._bucket_arn)])
        S3BucketPolicy(self, "Policy", bucket=bucket_id, policy=policy.json)
        S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-state-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=noncurrent_version_expiration_days,
                            newer_noncurrent_versions=noncurrent_versions_to_keep,
                        )
                    ],
                ),
                expired_delete_markers_rule(),
                abort_incomplete_uploads_rule(),
            ],
        )
        if eventbridge_notifications:
            S3BucketNotification(self, "Notifications", bucket=bucket_id, eventbridge=True)
        self._log_access(access_log_bucket, access_log_prefix)
        apply_provider(self, provider)

    # -- attributes ---------------------------------------------------------
    @property
    def key_alias(self) -> str:
        """The alias name as given, e.g. ``alias/quantum-cloud-terraform-state``: a backend's ``kms_key_id``."""
        return self._key_alias

    @property
    def key_alias_arn(self) -> str:
        """The alias's ARN (a Terraform reference)."""
        return self.alias.arn
