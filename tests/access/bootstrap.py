"""Requests against the bootstrap stack's buckets and key, decided as AWS would.

``BootstrapSimulation(doc, callers)`` renders the bootstrap stack's bucket and key policies
(security/iam_documents.py: account 123456789012, the stack's region) and decides a request with
the evaluator (tests/access/evaluator.py): the caller's identity policies, the bucket policy or
key policy of the resource, and the context AWS puts in the request.

What the requests model:
- S3 server access logs are written by the logging service principal ``logging.s3.amazonaws.com``,
  and each delivery carries the source bucket's account and ARN as ``aws:SourceAccount`` and
  ``aws:SourceArn`` (S3 User Guide, "Permissions for log delivery": the bucket policy grants
  s3:PutObject to that principal, "Condition": {"ArnLike": {"aws:SourceArn": <source bucket>},
  "StringEquals": {"aws:SourceAccount": <source account>}}), under the destination's prefix;
- a request on a KMS key carries ``kms:ResourceAliases``, the aliases of the key (KMS Developer
  Guide, "kms:ResourceAliases"), and, made by S3 for an object, ``kms:ViaService``;
- every request is over TLS unless its context says ``aws:SecureTransport`` False.
"""

from __future__ import annotations

from typing import Mapping

from security.iam_documents import ACCOUNT, PARTITION, SynthesizedStack

from .evaluator import Request, Result, evaluate
from .simulation import ADMINISTRATOR, AWS_NETWORK, OUTSIDER_ACCOUNT, Caller

LOGGING_SERVICE = "logging.s3.amazonaws.com"


class BootstrapSimulation:
    """Decides requests against one synthesized bootstrap stack.

    Callers: ``logging.s3.amazonaws.com``; ``account-admin`` (AdministratorAccess in this
    account); ``account-role`` (a role of this account with no policy); ``outsider`` (an
    administrator of another account); and any given in ``callers`` (e.g. a deployer role with the
    policy ``python -m stacks.deployer_policy`` generates).
    """

    def __init__(self, doc: dict, callers: Mapping[str, Caller] = ()) -> None:
        self.stack = SynthesizedStack(doc)
        self.callers: dict[str, Caller] = {
            LOGGING_SERVICE: Caller(LOGGING_SERVICE, (), AWS_NETWORK),
            "account-admin": Caller(f"arn:{PARTITION}:iam::{ACCOUNT}:role/Administrator", [ADMINISTRATOR]),
            "account-role": Caller(f"arn:{PARTITION}:iam::{ACCOUNT}:role/AnyOtherRole", []),
            "outsider": Caller(f"arn:{PARTITION}:iam::{OUTSIDER_ACCOUNT}:role/Administrator", [ADMINISTRATOR]),
            **dict(callers),
        }

    # -- what the stack holds ---------------------------------------------------------------
    def bucket_arn(self, bucket_name: str) -> str:
        """The ARN of the stack's bucket ``bucket_name`` (KeyError if the stack has none)."""
        [name] = [n for n, config in self.stack.resources("aws_s3_bucket").items() if config["bucket"] == bucket_name]
        return self.stack.arn("aws_s3_bucket", name)

    def key_arn(self) -> str:
        """The ARN of the stack's only KMS key (the state key)."""
        [name] = self.stack.resources("aws_kms_key")
        return self.stack.arn("aws_kms_key", name)

    def aliases_of(self, key_arn: str) -> list[str]:
        """The alias names the stack gives the key ``key_arn``."""
        aliases = []
        for config in self.stack.resources("aws_kms_alias").values():
            target = config["target_key_id"]  # ${aws_kms_key.<name>.key_id}
            key_name = target.removeprefix("${aws_kms_key.").split(".")[0]
            if self.stack.arn("aws_kms_key", key_name) == key_arn:
                aliases.append(config["name"])
        return aliases

    # -- deciding ---------------------------------------------------------------------------
    def decide(self, who: str, action: str, resource: str, context: Mapping[str, object] = ()) -> Result:
        caller = self.callers[who]
        service = action.split(":")[0].lower()
        full = {"aws:SecureTransport": True}
        if service == "s3":
            bucket = resource.split(":::", 1)[1].split("/")[0]
            policy = self.stack.resource_policy("aws_s3_bucket_policy", f"arn:{PARTITION}:s3:::{bucket}")
            key_policy = False
        elif service == "kms":
            policy = self.stack.resource_policy("aws_kms_key", resource)
            key_policy = True
            full["kms:ResourceAliases"] = self.aliases_of(resource)
        else:
            raise ValueError(f"{action}: the bootstrap stack holds S3 buckets and a KMS key only")
        full.update(context)
        return evaluate(
            Request(caller.principal, action, resource, full),
            caller.identity_policies,
            policy,
            resource_account=ACCOUNT,
            key_policy=key_policy,
        )
