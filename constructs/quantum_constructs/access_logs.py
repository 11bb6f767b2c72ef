"""AccessLogBucket: the S3 bucket that receives other buckets' S3 server access logs."""

from __future__ import annotations

import hashlib
import re
from typing import Optional, Protocol, Sequence, Union

from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from .aws.data_aws_partition import DataAwsPartition
from .aws.s3_bucket import S3Bucket
from .aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from .aws.s3_bucket_notification import S3BucketNotification
from .aws.s3_bucket_policy import S3BucketPolicy
from .cdk import TerraformProvider, TerraformResourceLifecycle
from constructs import Construct

from ._policy import PolicyStatements
from ._scope import apply_provider, check_provider
from ._validation import is_whole, require, require_bool
from .bucket import (
    _LOG_PREFIX,
    LibraryBucket,
    abort_incomplete_uploads_rule,
    check_bucket_name,
    default_access_log_prefix,
    deny_insecure_transport,
    expired_delete_markers_rule,
    is_bucket_name,
    private_bucket_settings,
)

LOGGING_SERVICE = "logging.s3.amazonaws.com"
"""The service principal that delivers S3 server access logs (S3 User Guide, "Permissions for log delivery")."""
_SID_WORD = re.compile(r"[^A-Za-z0-9]+")


class NamedBucket(Protocol):
    """A bucket construct of this library (``QuantumResultsBucket``, ``QuantumAuditBucket``,
    ``TerraformStateBucket``): its name as a plain string."""

    @property
    def literal_bucket_name(self) -> str: ...


class AccessLogBucket(LibraryBucket):
    """An S3 bucket that receives the S3 server access logs of other buckets of its account and region.

    Shaped by what S3 requires of a destination bucket (S3 User Guide, "Enabling Amazon S3 server
    access logging" and "Permissions for log delivery"):

    - default encryption SSE-S3 (``AES256``): S3 delivers no logs to a bucket whose default
      encryption is SSE-KMS (there is no prop to change it);
    - object ownership BucketOwnerEnforced (ACLs disabled), so log delivery is granted by bucket
      policy, to the logging service principal ``logging.s3.amazonaws.com``, as AWS recommends
      (the log-delivery group's ACL grant is not used);
    - no Object Lock default retention, no Requester Pays, and no access logging of its own
      ("your destination bucket should not have server access logging enabled").

    Secure by default:

    - public access block with all four flags on; versioning on (a deleted or overwritten log
      stays as a noncurrent version for ``noncurrent_version_expiration_days``);
    - a bucket policy that refuses every request without TLS and, per source bucket
      (``source_buckets`` or ``allow_logging_from``), one statement: ``logging.s3.amazonaws.com``
      may ``s3:PutObject`` under that source's prefix only, when the request's
      ``aws:SourceAccount`` is this account and its ``aws:SourceArn`` is that bucket (the
      confused-deputy conditions of AWS's own example). A bucket of another account, or another
      bucket of this one, cannot write here, nor can a source write under another's prefix;
    - lifecycle: logs expire after ``expire_after_days`` (default 365), noncurrent versions after
      ``noncurrent_version_expiration_days`` (default 90), then their delete markers; incomplete
      multipart uploads are aborted after 7 days;
    - ``prevent_destroy`` (default on): Terraform refuses a plan that would destroy the bucket
      (audit evidence); ``force_destroy`` never;
    - events to Amazon EventBridge: default on (a SIEM can pick up each log object).

    :param bucket_name: the bucket's name (S3's naming rules; global).
    :param source_buckets: the buckets whose logs this bucket receives, each under its default
        prefix ``s3-access/<name>/``: names, or bucket constructs of this library. Default: none
        (add them with ``allow_logging_from``).
    :param expire_after_days: days a log object is kept; None keeps logs forever. Default: 365.
    :param noncurrent_version_expiration_days: days a deleted or overwritten log version is kept. Default: 90.
    :param prevent_destroy: ``lifecycle.prevent_destroy`` on the bucket. Default: True.
    :param eventbridge_notifications: send the bucket's events to EventBridge. Default: True.
    :param provider: the AWS provider of every resource and data source of this bucket (its
        region must be the sources' region). Default: the stack's default provider.

    Attributes: ``bucket_name``, ``literal_bucket_name``, ``bucket_arn``, ``sources`` (source
    bucket name -> log prefix); resources ``bucket`` and ``bucket_policy``.
    Methods: ``allow_logging_from(source, prefix=None)``, ``log_prefix(source)``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        source_buckets: Sequence[Union[str, NamedBucket]] = (),
        expire_after_days: Optional[int] = 365,
        noncurrent_version_expiration_days: int = 90,
        prevent_destroy: bool = True,
        eventbridge_notifications: bool = True,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        check_bucket_name(bucket_name)
        require(
            expire_after_days is None or (is_whole(expire_after_days) and expire_after_days > 0),
            "expire_after_days",
            expire_after_days,
            "None (logs kept forever) or a positive number of days",
        )
        require(
            is_whole(noncurrent_version_expiration_days) and noncurrent_version_expiration_days > 0,
            "noncurrent_version_expiration_days",
            noncurrent_version_expiration_days,
            "a positive number of days",
        )
        require(
            isinstance(source_buckets, (list, tuple)),
            "source_buckets",
            source_buckets,
            "a list of bucket names or bucket constructs",
        )
        require_bool("prevent_destroy", prevent_destroy)
        require_bool("eventbridge_notifications", eventbridge_notifications)
        self._bucket_name = bucket_name
        self._provider = provider
        self._sources: dict[str, str] = {}
        self._sids: dict[str, str] = {}

        self._account = DataAwsCallerIdentity(self, "Account").account_id
        self._partition = DataAwsPartition(self, "Partition").partition
        self.bucket = S3Bucket(
            self,
            "Bucket",
            bucket=bucket_name,
            force_destroy=False,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if prevent_destroy else None,
        )
        bucket_id = self.bucket.id
        self._bucket_arn = self.bucket.arn
        # SSE-S3: log delivery supports no SSE-KMS default encryption on its destination.
        private_bucket_settings(self, bucket_id, sse_algorithm="AES256", kms_key_arn=None)
        self._policy = PolicyStatements(self, "PolicyDocument", [deny_insecure_transport(self._bucket_arn)])
        self.bucket_policy = S3BucketPolicy(self, "Policy", bucket=bucket_id, policy=self._policy.json)
        S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=expire_after_days)]
                    if expire_after_days
                    else None,
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=noncurrent_version_expiration_days
                        )
                    ],
                ),
                expired_delete_markers_rule(),
                abort_incomplete_uploads_rule(),
            ],
        )
        if eventbridge_notifications:
            S3BucketNotification(self, "Notifications", bucket=bucket_id, eventbridge=True)
        apply_provider(self, provider)
        for source in source_buckets:
            self.allow_logging_from(source)

    # -- attributes ---------------------------------------------------------
    @property
    def sources(self) -> dict[str, str]:
        """Each source bucket allowed to log here -> the key prefix its logs go under."""
        return dict(self._sources)

    def log_prefix(self, source: Union[str, NamedBucket]) -> str:
        """The prefix ``source``'s logs go under (its ``access_log_prefix``); ValueError if it may not log here."""
        name = _source_name(source)
        require(name in self._sources, "source", source, f"one of the buckets that log here: {sorted(self._sources)}")
        return self._sources[name]

    # -- grants -------------------------------------------------------------
    def allow_logging_from(self, source: Union[str, NamedBucket], prefix: Optional[str] = None) -> bool:
        """Let S3 deliver the server access logs of the bucket ``source`` (a name, or a bucket
        construct of this library) into this bucket under ``prefix``.

        :param prefix: default ``s3-access/<source name>/``, the default ``access_log_prefix`` of
            this library's buckets: give the same value the source's logging configuration uses.

        Adds one statement to the bucket policy: ``logging.s3.amazonaws.com`` may ``s3:PutObject``
        on ``<this bucket>/<prefix>*`` when ``aws:SourceAccount`` is this account and
        ``aws:SourceArn`` is the source bucket's ARN. Allowing the same source under the same
        prefix twice changes nothing (returns False); under another prefix is refused.
        """
        name = _source_name(source)
        require(
            is_bucket_name(name) and name != self._bucket_name,
            "source",
            source,
            "the name of another S3 bucket (or a bucket construct) in this account and region",
        )
        prefix = default_access_log_prefix(name) if prefix is None else prefix
        require(
            isinstance(prefix, str) and bool(_LOG_PREFIX.match(prefix)),
            "prefix",
            prefix,
            "None (s3-access/<source>/) or a relative key prefix such as 's3-access/results/' (no leading '/')",
        )
        if name in self._sources:
            require(
                self._sources[name] == prefix,
                "prefix",
                prefix,
                f"{self._sources[name]!r}, the prefix {name!r} already logs under (one prefix per source)",
            )
            return False
        self._sources[name] = prefix
        self._policy.add(
            DataAwsIamPolicyDocumentStatement(
                sid=self._sid(name),
                effect="Allow",
                actions=["s3:PutObject"],
                resources=[f"{self._bucket_arn}/{prefix}*"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[LOGGING_SERVICE])],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="aws:SourceAccount", values=[self._account]
                    ),
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="ArnLike", variable="aws:SourceArn", values=[f"arn:{self._partition}:s3:::{name}"]
                    ),
                ],
            )
        )
        return True

    # -- internals ----------------------------------------------------------
    def _sid(self, source: str) -> str:
        """``LogDeliveryFrom<Source>`` (Sids take A-Za-z0-9 only); a hash of the name where two
        names would read the same (``a-b`` and ``a.b``)."""
        sid = "LogDeliveryFrom" + "".join(word[:1].upper() + word[1:] for word in _SID_WORD.split(source) if word)
        if sid in self._sids and self._sids[sid] != source:
            sid += hashlib.sha256(source.encode()).hexdigest()[:8]
        self._sids[sid] = source
        return sid


def _source_name(source: object) -> object:
    """A source bucket's name: the string itself, or a bucket construct's ``literal_bucket_name``."""
    return getattr(source, "literal_bucket_name", source)

