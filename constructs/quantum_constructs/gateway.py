"""The DMZ gateway's side in AWS: its IAM role, reached from the premises through IAM Roles Anywhere
(``QuantumGateway``), and the bucket its hash-chained audit log is shipped to (``QuantumAuditBucket``)."""

from __future__ import annotations

import base64
import binascii
import re
import ssl
from typing import Optional, Sequence, Union

from .cdk import TerraformProvider
from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from .aws.data_aws_partition import DataAwsPartition
from .aws.data_aws_region import DataAwsRegion
from .aws.iam_role import IamRole
from .aws.iam_role_policy import IamRolePolicy
from .aws.kms_key import KmsKey
from .aws.rolesanywhere_profile import RolesanywhereProfile
from .aws.rolesanywhere_trust_anchor import (
    RolesanywhereTrustAnchor,
    RolesanywhereTrustAnchorSource,
    RolesanywhereTrustAnchorSourceSourceData,
)
from .aws.s3_bucket import S3Bucket
from .aws.s3_bucket_lifecycle_configuration import S3BucketLifecycleConfiguration
from .aws.s3_bucket_notification import S3BucketNotification
from .aws.s3_bucket_object_lock_configuration import (
    S3BucketObjectLockConfigurationA,
    S3BucketObjectLockConfigurationRuleA,
    S3BucketObjectLockConfigurationRuleDefaultRetentionA,
)
from .aws.s3_bucket_policy import S3BucketPolicy
from constructs import Construct

from ._kms import account_administers_key
from ._policy import PolicyStatements
from ._scope import apply_provider, check_provider, path_name, path_sid
from ._validation import is_whole, require, require_bool, require_optional_text
from .bucket import (
    _PREFIX,
    AccessLogDestination,
    Grantable,
    LibraryBucket,
    QuantumResultsBucket,
    abort_incomplete_uploads_rule,
    check_access_logging,
    check_bucket_name,
    private_bucket_settings,
)
from .role import PolicyRoleBase, check_permissions_boundary, service_role_name, spending_limit_statements, task_statements

ROLES_ANYWHERE = "rolesanywhere.amazonaws.com"
# IAM Roles Anywhere User Guide, "Trust model" ("Role trusts"): the role's trust policy must let the
# service principal call these three.
ROLES_ANYWHERE_ACTIONS = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
# IAM Roles Anywhere User Guide, "Attribute mapping and trust policy": the attributes of the
# authenticating certificate become principal tags; the subject's CN is this one (mapped by default).
SUBJECT_CN_TAG = "aws:PrincipalTag/x509Subject/CN"
GATEWAY_ROLE_NAME_PREFIX = "QuantumGateway"
GATEWAY_PREFIX = "gateway"
"""Where the gateway's tasks write results in the results bucket (the gateway's ``results_prefix`` default)."""
AUDIT_PREFIX = "audit"
# IAM Roles Anywhere API Reference: CreateProfile durationSeconds 900-43200; names 1-255 of
# [ a-zA-Z0-9-_]; SourceData x509CertificateData at most 204,800 characters (the API model
# botocore ships, data/rolesanywhere/2018-05-10/service-2.json).
SESSION_SECONDS_RANGE = (900, 43200)
_ROLES_ANYWHERE_NAME = "A-Za-z0-9 _-"
_CERTIFICATE_DATA_LIMIT = 204800
# RFC 7468: a PEM block; text between blocks is explanatory text, which parsers ignore (section 5.2).
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)
# X.520: a commonName is at most 64 characters (RFC 5280, ub-common-name).
_COMMON_NAME_LIMIT = 64
# S3 Object Lock default retention: a whole number of days (PutObjectLockConfiguration); this library
# takes at most 100 years.
RETENTION_DAYS_RANGE = (1, 36500)


def ca_bundle(pem: object) -> str:
    """The CA certificates of ``pem`` (a PEM bundle) as IAM Roles Anywhere takes them; ``ValueError`` otherwise.

    Only ``CERTIFICATE`` blocks are kept (explanatory text around them, RFC 7468 section 5.2, is
    dropped); a block of another type (a private key pasted by mistake) is refused, and so is a
    certificate that is not a CA: OpenSSL itself decides (each block is loaded into an ``ssl``
    context, whose ``cert_store_stats`` counts CA certificates as ``X509_check_ca`` does), so the
    check needs nothing beyond the standard library and makes no call and reads no clock.
    """
    require(isinstance(pem, str) and bool(pem.strip()), "ca_certificate_pem", pem, "a PEM bundle of CA certificates")
    blocks = _PEM_BLOCK.findall(pem)
    others = sorted({label for label, _ in blocks if label != "CERTIFICATE"})
    require(not others, "ca_certificate_pem", f"<PEM with {', '.join(others)}>",
            "CERTIFICATE blocks only (never a private key): the premises CA's certificates")
    require(bool(blocks), "ca_certificate_pem", f"<{len(pem)} characters without a PEM block>",
            "at least one '-----BEGIN CERTIFICATE-----' block")
    certificates = []
    for index, (_, body) in enumerate(blocks, start=1):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except binascii.Error:
            der = b""
        text = f"-----BEGIN CERTIFICATE-----\n{_wrap(base64.b64encode(der).decode())}-----END CERTIFICATE-----\n"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cadata=text)
        except (ssl.SSLError, ValueError):
            require(False, "ca_certificate_pem", f"<certificate {index} of {len(blocks)}>", "X.509 certificates OpenSSL can read")
        require(context.cert_store_stats().get("x509_ca") == 1, "ca_certificate_pem", f"<certificate {index} of {len(blocks)}>",
                "CA certificates (basicConstraints CA:TRUE), not the gateway's own certificate")
        certificates.append(text)
    bundle = "".join(certificates)
    require(len(bundle) <= _CERTIFICATE_DATA_LIMIT, "ca_certificate_pem", f"<{len(bundle)} characters>",
            f"at most {_CERTIFICATE_DATA_LIMIT} characters of certificates (IAM Roles Anywhere's limit)")
    return bundle


def _wrap(text: str, width: int = 64) -> str:
    return "".join(text[i : i + width] + "\n" for i in range(0, len(text), width))


class QuantumGateway(PolicyRoleBase):
    """The IAM role of the DMZ gateway, assumed from the premises through IAM Roles Anywhere.

    The gateway holds the only credentials that create quantum tasks when researchers submit
    through it; it gets them without any long-term secret in AWS:

    - an IAM Roles Anywhere trust anchor made from ``ca_certificate_pem`` (the premises CA,
      source type ``CERTIFICATE_BUNDLE``, enabled) and a profile naming only this role (sessions
      of ``session_duration_seconds``); the gateway runs AWS's signing helper with its client
      certificate, the trust anchor, the profile and the role (the attributes below);
    - the role trusts ``rolesanywhere.amazonaws.com`` for ``sts:AssumeRole``, ``sts:TagSession``
      and ``sts:SetSourceIdentity`` (IAM Roles Anywhere User Guide, "Trust model"), only for
      sessions of this trust anchor (``aws:SourceArn``) and, with ``certificate_subject_cn``, only
      for a certificate with that subject CN (``aws:PrincipalTag/x509Subject/CN``; "Attribute
      mapping and trust policy");
    - one inline policy: create quantum tasks only on ``allowed_device_arns`` (an explicit Deny
      covers every other device), read, tag and cancel this account's tasks, describe the
      allowed devices, read (never change) spending limits; no hybrid jobs (explicit Deny on
      ``braket:CreateJob``); read and write ``results_bucket`` under ``results_prefix`` only (its
      key through S3 only). ``add_to_policy`` and grants append to it: give the role to
      ``QuantumPrivateNetwork.grant_braket`` so that Braket answers it only through the VPC
      endpoint, and to ``QuantumAuditBucket.grant_append`` for the audit log;
    - ``force_detach_policies``: the budget kill switch may attach its deny policy to it.

    :param allowed_device_arns: Braket device ARNs the gateway may create tasks on (required,
        non-empty; the SDK's form, e.g. ``Devices.Amazon.SV1``).
    :param results_bucket: the ``QuantumResultsBucket`` the gateway's tasks write to (required).
    :param ca_certificate_pem: the premises CA's certificates, PEM (required; see ``ca_bundle``).
    :param certificate_subject_cn: admit only a client certificate with this subject CN.
        Default: None (any certificate the CA issued).
    :param results_prefix: key prefix of the gateway's results. Default ``gateway``.
    :param session_duration_seconds: lifetime of the credentials a session gets, 900-43200.
        Default 3600.
    :param role_name: default ``QuantumGateway-<construct path>`` (cut to 64 characters with a
        hash when longer); must start with that prefix.
    :param permissions_boundary: ARN of a managed policy capping what the role may ever do.
        Default: None.
    :param provider: the AWS provider of every resource and data source. Default: the stack's.

    Attributes: ``role_arn``, ``role_name``, ``trust_anchor_arn``, ``profile_arn``,
    ``results_prefix``, ``allowed_device_arns``, ``allowed_device_policy_arns``, ``policy_json``;
    resources ``role``, ``trust_anchor``, ``profile``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        allowed_device_arns: Sequence[str],
        results_bucket: QuantumResultsBucket,
        ca_certificate_pem: str,
        certificate_subject_cn: Optional[str] = None,
        results_prefix: str = GATEWAY_PREFIX,
        session_duration_seconds: int = 3600,
        role_name: Optional[str] = None,
        permissions_boundary: Optional[str] = None,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        check_permissions_boundary(permissions_boundary)
        self._allow_devices(allowed_device_arns)
        require(
            isinstance(results_bucket, QuantumResultsBucket),
            "results_bucket",
            results_bucket,
            "a QuantumResultsBucket (the construct, not a bucket name)",
        )
        require(
            isinstance(results_prefix, str) and bool(_PREFIX.match(results_prefix)),
            "results_prefix",
            results_prefix,
            "a relative S3 key prefix without leading or trailing '/', e.g. 'gateway'",
        )
        require_optional_text("certificate_subject_cn", certificate_subject_cn, "None or a certificate subject CN")
        require(
            certificate_subject_cn is None or len(certificate_subject_cn) <= _COMMON_NAME_LIMIT,
            "certificate_subject_cn",
            certificate_subject_cn,
            f"a common name of at most {_COMMON_NAME_LIMIT} characters (RFC 5280)",
        )
        low, high = SESSION_SECONDS_RANGE
        require(
            is_whole(session_duration_seconds) and low <= session_duration_seconds <= high,
            "session_duration_seconds",
            session_duration_seconds,
            f"{low} to {high} seconds (IAM Roles Anywhere's range for a profile)",
        )
        bundle = ca_bundle(ca_certificate_pem)
        name = service_role_name(self, role_name, GATEWAY_ROLE_NAME_PREFIX)
        self._results_prefix = results_prefix

        document = self._start_policy()
        self.trust_anchor = RolesanywhereTrustAnchor(
            self,
            "TrustAnchor",
            name=path_name("quantum-gateway", self, 255, _ROLES_ANYWHERE_NAME),
            # The provider sends enabled=false when it is not set (resourceTrustAnchorCreate).
            enabled=True,
            source=RolesanywhereTrustAnchorSource(
                source_type="CERTIFICATE_BUNDLE",
                source_data=RolesanywhereTrustAnchorSourceSourceData(x509_certificate_data=bundle),
            ),
        )
        conditions = [
            DataAwsIamPolicyDocumentStatementCondition(
                test="ArnEquals", variable="aws:SourceArn", values=[self.trust_anchor.arn]
            )
        ]
        if certificate_subject_cn is not None:
            conditions.append(
                DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable=SUBJECT_CN_TAG, values=[certificate_subject_cn]
                )
            )
        trust = DataAwsIamPolicyDocument(
            self,
            "Trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=ROLES_ANYWHERE_ACTIONS,
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[ROLES_ANYWHERE])],
                    condition=conditions,
                )
            ],
        )
        self.role = IamRole(  # the IamRole resource itself, for escape hatches
            self,
            "Role",
            name=name,
            assume_role_policy=trust.json,
            description="DMZ gateway: Braket tasks on the allowed devices, through IAM Roles Anywhere",
            # The budget kill switch attaches its deny policy outside Terraform: without this,
            # `terraform destroy` fails with DeleteConflict once the switch has fired.
            force_detach_policies=True,
            permissions_boundary=permissions_boundary,
        )
        # One token for the ARN, so statements naming the role compare equal.
        self._role_arn = self.role.arn
        IamRolePolicy(self, "Policy", name="braket-least-privilege", role=self.role.name, policy=document.json)
        self.profile = RolesanywhereProfile(
            self,
            "Profile",
            name=path_name("quantum-gateway", self, 255, _ROLES_ANYWHERE_NAME),
            role_arns=[self._role_arn],
            duration_seconds=session_duration_seconds,
            enabled=True,
        )
        results_bucket.grant_read_write(self, prefix=results_prefix)
        apply_provider(self, provider)

    # -- attributes ---------------------------------------------------------
    @property
    def role_arn(self) -> str:
        """The role's ARN (a Terraform reference): the signing helper's ``--role-arn``."""
        return self._role_arn

    @property
    def role_name(self) -> str:
        return self.role.name

    @property
    def trust_anchor_arn(self) -> str:
        """The trust anchor's ARN (a Terraform reference): the signing helper's ``--trust-anchor-arn``."""
        return self.trust_anchor.arn

    @property
    def profile_arn(self) -> str:
        """The profile's ARN (a Terraform reference): the signing helper's ``--profile-arn``."""
        return self.profile.arn

    @property
    def results_prefix(self) -> str:
        return self._results_prefix

    # -- internals ----------------------------------------------------------
    def _least_privilege(self, partition: str) -> list[DataAwsIamPolicyDocumentStatement]:
        account = DataAwsCallerIdentity(self, "Account").account_id
        own_tasks = f"arn:{partition}:braket:*:{account}:quantum-task/*"
        return [
            # TagResource in ManageOwnTasks: the forwarder tags each task with its opaque correlation id.
            *task_statements(self.allowed_device_policy_arns, own_tasks),
            *spending_limit_statements(),
            DataAwsIamPolicyDocumentStatement(
                # A hybrid job runs a researcher's container unfiltered: never through the gateway.
                sid="DenyHybridJobs",
                effect="Deny",
                actions=["braket:CreateJob"],
                resources=["*"],
            ),
        ]


class QuantumAuditBucket(LibraryBucket):
    """An S3 bucket for audit records that nobody can delete or shorten while they are retained.

    - S3 Object Lock, enabled at creation, with a default retention of ``retention_days`` in
      COMPLIANCE mode: during it "no user, including the root user", can overwrite or delete a
      record's version or shorten its retention (S3 User Guide, "Locking objects with Object
      Lock"). Versioning is on (Object Lock needs it, and S3 refuses to suspend it afterwards).
    - Its own KMS key with rotation (the account administers it; roles use it through S3 only,
      by grant); public access block; object ownership enforced; events to EventBridge;
      incomplete multipart uploads aborted after 7 days; ``force_destroy`` never.
    - A bucket policy that refuses, for every principal:
      requests without TLS;
      ``s3:DeleteObject`` and ``s3:DeleteObjectVersion``: Object Lock refuses deleting a retained
      version, but a plain DeleteObject only adds a delete marker, which Object Lock allows and
      which hides the record (S3 User Guide, "Object Lock considerations", delete markers), and a
      version may be deleted once its retention ends; ``s3:BypassGovernanceRetention``, and
      records written (or re-retained) in GOVERNANCE mode (``s3:object-lock-mode``): explicit
      retention headers override the default, and a GOVERNANCE version yields to that bypass.
      A writer may still give a record a shorter COMPLIANCE retention than the default; the
      Denies on deletion above still hold it (``s3:object-lock-remaining-retention-days`` could
      refuse that, but whether S3 puts the key in a request that relies on the default retention
      is not documented, and a wrong guess would refuse every record);
      unless ``allow_retention_changes``: ``s3:PutBucketObjectLockConfiguration`` (S3 lets the
      owner lower or remove the default retention at any time; existing records keep theirs, new
      ones would not) and ``s3:PutLifecycleConfiguration`` (lifecycle expiration needs no
      DeleteObject call, so no bucket policy stops it: the S3 API Reference, DeleteObject, says to
      deny s3:DeleteObject, s3:DeleteObjectVersion and s3:PutLifecycleConfiguration to block
      deletion). These two refuse the deployer too: the policy is applied after the Object Lock
      and lifecycle configurations (``depends_on``), and changing retention takes two deploys,
      the first with ``allow_retention_changes=True``.
    - What a bucket policy cannot do: deny ``s3:PutBucketPolicy`` to everyone (only the root user
      could then change the policy, and every later deploy that touches it would fail); whoever
      may change the policy can lift these Denies, not Object Lock's own protection. Cap
      s3:PutBucketPolicy on this bucket with an SCP.

    :param bucket_name: the bucket's name (S3's naming rules).
    :param retention_days: default COMPLIANCE retention of each record, 1-36500 days (required).
    :param records_prefix: the key prefix records are appended under. Default ``audit``.
    :param access_log_bucket: where this bucket's S3 server access logs go: an ``AccessLogBucket``
        or the name of an existing bucket that accepts them (as for ``QuantumResultsBucket``).
        Default: None. (A bucket with Object Lock cannot itself receive access logs.)
    :param access_log_prefix: default ``s3-access/<bucket_name>/``.
    :param allow_retention_changes: default False (see above).
    :param eventbridge_notifications: send the bucket's events to EventBridge. Default: True.
    :param provider: the AWS provider of every resource and data source. Default: the stack's.

    Attributes: ``bucket_name``, ``literal_bucket_name``, ``bucket_arn``, ``kms_key_arn``,
    ``retention_days``, ``records_prefix``; resources ``bucket``, ``kms_key``, ``object_lock``,
    ``bucket_policy``. Grant: ``grant_append(role)``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        retention_days: int,
        records_prefix: str = AUDIT_PREFIX,
        access_log_bucket: Optional[Union[str, AccessLogDestination]] = None,
        access_log_prefix: Optional[str] = None,
        allow_retention_changes: bool = False,
        eventbridge_notifications: bool = True,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        check_bucket_name(bucket_name)
        low, high = RETENTION_DAYS_RANGE
        require(
            is_whole(retention_days) and low <= retention_days <= high,
            "retention_days",
            retention_days,
            f"a whole number of days from {low} to {high}",
        )
        require(
            isinstance(records_prefix, str) and bool(_PREFIX.match(records_prefix)),
            "records_prefix",
            records_prefix,
            "a relative S3 key prefix without leading or trailing '/', e.g. 'audit'",
        )
        check_access_logging(bucket_name, access_log_bucket, access_log_prefix)
        require_bool("allow_retention_changes", allow_retention_changes)
        require_bool("eventbridge_notifications", eventbridge_notifications)
        self._bucket_name = bucket_name
        self._retention_days = retention_days
        self._records_prefix = records_prefix
        self._provider = provider

        region = DataAwsRegion(self, "Region").region
        partition = DataAwsPartition(self, "Partition").partition
        account = DataAwsCallerIdentity(self, "Account").account_id
        self._via_s3 = DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable="kms:ViaService", values=[f"s3.{region}.amazonaws.com"]
        )
        # Only the account's IAM policies (grants through S3) use the key: no service writes here.
        key_policy = DataAwsIamPolicyDocument(self, "KeyPolicy", statement=[account_administers_key(partition, account)])
        self.kms_key = KmsKey(
            self,
            "Key",
            description=f"Encrypts the audit records in {bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy.json,
        )
        # One token per ARN, so statements granted twice compare equal.
        self._key_arn = self.kms_key.arn
        self.bucket = S3Bucket(self, "Bucket", bucket=bucket_name, object_lock_enabled=True, force_destroy=False)
        bucket_id = self.bucket.id
        self._bucket_arn = self.bucket.arn
        versioning = private_bucket_settings(self, bucket_id, sse_algorithm="aws:kms", kms_key_arn=self._key_arn)
        self.object_lock = S3BucketObjectLockConfigurationA(
            self,
            "ObjectLock",
            bucket=bucket_id,
            rule=S3BucketObjectLockConfigurationRuleA(
                default_retention=S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                    mode="COMPLIANCE", days=retention_days
                )
            ),
            depends_on=[versioning],
        )
        lifecycle = S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            bucket=bucket_id,
            # The only rule: it never expires a record (a lifecycle expiration would delete without
            # any DeleteObject call once retention ends).
            rule=[abort_incomplete_uploads_rule()],
        )
        policy = PolicyStatements(self, "PolicyDocument", self._policy_statements(allow_retention_changes))
        self.bucket_policy = S3BucketPolicy(
            self,
            "Policy",
            bucket=bucket_id,
            policy=policy.json,
            # Its Denies refuse the deployer as well: the configurations they freeze come first.
            depends_on=[self.object_lock, lifecycle],
        )
        if eventbridge_notifications:
            S3BucketNotification(self, "Notifications", bucket=bucket_id, eventbridge=True)
        self._log_access(access_log_bucket, access_log_prefix)
        self._granted: list[tuple[Grantable, str]] = []
        apply_provider(self, provider)

    # -- attributes ---------------------------------------------------------
    @property
    def retention_days(self) -> int:
        return self._retention_days

    @property
    def records_prefix(self) -> str:
        return self._records_prefix

    # -- grants -------------------------------------------------------------
    def grant_append(self, role: Grantable, prefix: Optional[str] = None) -> bool:
        """Let ``role`` add records under ``prefix`` (default ``records_prefix``), and nothing else.

        ``s3:PutObject`` on ``<prefix>/*`` (a multipart upload is authorized as s3:PutObject too)
        and the bucket's key through S3 only: ``kms:GenerateDataKey`` to encrypt, ``kms:Decrypt``
        because S3 needs it to complete a multipart upload with a KMS key (S3 User Guide,
        "Uploading and copying objects using multipart upload": "you must have permission to the
        kms:Decrypt and kms:GenerateDataKey actions"). No read, no listing, no delete: in a versioned
        bucket a second write of a key adds a version, the first stays retained. Writes must carry
        Content-MD5 or an x-amz-checksum header, as S3 requires for any PutObject into an Object
        Lock bucket with a default retention (recent AWS SDKs send a CRC32 checksum by default).
        Granting twice changes nothing; returns whether anything was added.
        """
        require(
            callable(getattr(role, "add_to_policy", None)),
            "role",
            role,
            "a QuantumGateway (or another role with add_to_policy(statement))",
        )
        prefix = self._records_prefix if prefix is None else prefix
        require(
            isinstance(prefix, str) and bool(_PREFIX.match(prefix)),
            "prefix",
            prefix,
            "None (the records prefix) or a relative S3 key prefix without leading or trailing '/', e.g. 'audit'",
        )
        if any(granted is role and granted_prefix == prefix for granted, granted_prefix in self._granted):
            return False
        self._granted.append((role, prefix))
        sid = path_sid(self)
        scoped = sid + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", prefix) if part)
        added = [
            role.add_to_policy(
                DataAwsIamPolicyDocumentStatement(
                    sid=f"{scoped}Append", actions=["s3:PutObject"], resources=[f"{self._bucket_arn}/{prefix}/*"]
                )
            ),
            role.add_to_policy(
                DataAwsIamPolicyDocumentStatement(
                    sid=f"{sid}KeyViaS3",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self._key_arn],
                    condition=[self._via_s3],
                )
            ),
        ]
        return any(added)

    # -- internals ----------------------------------------------------------
    def _policy_statements(self, allow_retention_changes: bool) -> list[DataAwsIamPolicyDocumentStatement]:
        anyone = [DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])]
        bucket, objects = self._bucket_arn, f"{self._bucket_arn}/*"

        def deny(sid: str, actions: list[str], resources: list[str], *conditions) -> DataAwsIamPolicyDocumentStatement:
            return DataAwsIamPolicyDocumentStatement(
                sid=sid, effect="Deny", actions=actions, resources=resources, principals=anyone,
                condition=[DataAwsIamPolicyDocumentStatementCondition(test=t, variable=v, values=[x]) for t, v, x in conditions]
                or None,
            )

        statements = [
            deny("DenyInsecureTransport", ["s3:*"], [bucket, objects], ("Bool", "aws:SecureTransport", "false")),
            deny("DenyDeletingRecords", ["s3:BypassGovernanceRetention", "s3:DeleteObject", "s3:DeleteObjectVersion"], [objects]),
            deny("DenyGovernanceModeRecords", ["s3:PutObject", "s3:PutObjectRetention"], [objects],
                 ("StringEquals", "s3:object-lock-mode", "GOVERNANCE")),
        ]
        if not allow_retention_changes:
            statements.append(
                deny("DenyRetentionAndLifecycleChanges",
                     ["s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration"], [bucket])
            )
        return statements


__all__ = [
    "AUDIT_PREFIX",
    "GATEWAY_PREFIX",
    "QuantumAuditBucket",
    "QuantumGateway",
    "ca_bundle",
]
