"""The IAM documents of a synthesized stack, rendered as AWS would store them.

Standard library only: used by the access simulation in the tests and by
``parliament_check.py`` (which runs in .venv-checkov).

``SynthesizedStack(doc)`` resolves the Terraform references of a ``cdk.tf.json``
with the values a deployment would give them (account ``123456789012``, the
stack's region, partition ``aws``, resource ARNs in the form each service
documents) and renders every ``aws_iam_policy_document`` into IAM JSON. A
reference it cannot resolve raises: a guessed value could make a check pass.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
PARTITION = "aws"

# Terraform names may hold hyphens (cdktf keeps them from construct ids such as "Endpoint-s3").
_REFERENCE = re.compile(r"\$\{((?:data\.)?[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")
# Ids EC2 generates, by resource type: their prefixes.
_GENERATED_ID_PREFIX = {
    "aws_vpc_endpoint": "vpce",
    "aws_vpc": "vpc",
    "aws_subnet": "subnet",
    "aws_route_table": "rtb",
    "aws_security_group": "sg",
}
_STATEMENT_KEYS = (
    ("sid", "Sid"),
    ("actions", "Action"),
    ("not_actions", "NotAction"),
    ("resources", "Resource"),
    ("not_resources", "NotResource"),
)


def to_iam_json(block: dict) -> dict:
    """A synthesized ``aws_iam_policy_document`` block as the IAM JSON policy it renders."""
    statements = []
    for item in block.get("statement", []):
        statement: dict[str, Any] = {"Effect": item.get("effect", "Allow")}
        for key, iam_key in _STATEMENT_KEYS:
            if key in item:
                statement[iam_key] = item[key]
        for key, iam_key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            if key in item:
                statement[iam_key] = _principal(item[key])
        for condition in item.get("condition", []):
            operator = statement.setdefault("Condition", {}).setdefault(condition["test"], {})
            operator.setdefault(condition["variable"], []).extend(condition["values"])
        statements.append(statement)
    return {"Version": block.get("version", "2012-10-17"), "Statement": statements}


def _principal(blocks: list[dict]) -> Any:
    if any(p["type"] == "*" for p in blocks):
        return "*"
    merged: dict[str, list[str]] = {}
    for p in blocks:
        merged.setdefault(p["type"], []).extend(p["identifiers"])
    return merged


@dataclass(frozen=True)
class Role:
    """An IAM role of the stack: its ARN, trust policy and the identity policies attached to it."""

    name: str
    arn: str
    trust: dict
    inline: dict[str, dict] = field(default_factory=dict)
    """Inline policies by name (``aws_iam_role_policy``)."""
    managed: dict[str, dict] = field(default_factory=dict)
    """Attached customer-managed policies by ARN (``aws_iam_role_policy_attachment``)."""

    @property
    def identity_policies(self) -> list[dict]:
        return [*self.inline.values(), *self.managed.values()]


class SynthesizedStack:
    """One synthesized stack's IAM: roles, managed policies and resource policies, as IAM JSON."""

    def __init__(self, doc: dict, account: str = ACCOUNT) -> None:
        self.doc, self.account = doc, account
        [provider] = doc["provider"]["aws"]
        self.region: str = provider["region"]

    # -- reading the synthesized JSON ---------------------------------------------------------
    def resources(self, type_: str) -> dict[str, dict]:
        return self.doc.get("resource", {}).get(type_, {})

    def policy_document(self, name: str) -> dict:
        """The ``aws_iam_policy_document`` data source ``name``, rendered and resolved."""
        block = self.doc["data"]["aws_iam_policy_document"][name]
        return self.resolve(to_iam_json(block))

    def resolve(self, value: Any) -> Any:
        """``value`` with every Terraform reference replaced by its deployed value."""
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole and whole.group(3) == "json":  # a policy given as a document reference
            return self.policy_document(whole.group(2))
        resolved = _REFERENCE.sub(lambda m: self._attribute(*m.groups()), value)
        if "${" in resolved:
            raise ValueError(f"cannot resolve {value!r}")
        return resolved

    def policy(self, value: str) -> dict:
        """A resource's ``policy`` attribute (a document reference or a JSON string) as IAM JSON."""
        resolved = self.resolve(value)
        return resolved if isinstance(resolved, dict) else json.loads(resolved)

    def _attribute(self, type_: str, name: str, attribute: str) -> str:
        if type_ == "data.aws_partition":
            return PARTITION
        if type_ == "data.aws_caller_identity" and attribute == "account_id":
            return self.account
        if type_ == "data.aws_region" and attribute in ("region", "name"):
            return self.region
        if type_.startswith("data."):
            raise ValueError(f"cannot resolve ${{{type_}.{name}.{attribute}}}")
        if name not in self.resources(type_):
            raise ValueError(f"cannot resolve ${{{type_}.{name}.{attribute}}}: the stack has no such resource")
        config = self.resources(type_)[name]
        if attribute == "arn":
            return self.arn(type_, name)
        literal = {
            "aws_s3_bucket": ("bucket", ("id", "bucket")),
            "aws_iam_role": ("name", ("id", "name")),
            "aws_iam_policy": ("name", ("name",)),
            "aws_budgets_budget": ("name", ("name",)),
            "aws_sns_topic": ("name", ("name",)),
            "aws_sagemaker_notebook_instance": ("name", ("name", "id")),
            "aws_sagemaker_notebook_instance_lifecycle_configuration": ("name", ("name", "id")),
            "aws_cloudwatch_event_rule": ("name", ("name",)),
            "aws_cloudwatch_log_group": ("name", ("name", "id")),
            "aws_codeartifact_domain": ("domain", ("domain",)),
        }.get(type_)
        if literal and attribute in literal[1]:
            return self.resolve(config[literal[0]])
        if type_ == "aws_kms_key" and attribute in ("key_id", "id"):
            return self._key_id(name)
        if type_ in _GENERATED_ID_PREFIX and attribute == "id":
            return self.generated_id(type_, name)
        if type_ in ("aws_codeartifact_domain", "aws_codeartifact_repository") and attribute == "id":
            return self.arn(type_, name)  # the provider's id of both is the ARN
        raise ValueError(f"cannot resolve ${{{type_}.{name}.{attribute}}}")

    def arn(self, type_: str, name: str) -> str:
        """The ARN AWS gives resource ``name`` of ``type_`` once deployed."""
        config = self.resources(type_)[name]
        account, region = self.account, self.region

        def literal(key: str) -> str:
            return self.resolve(config[key])

        if type_ == "aws_s3_bucket":
            return f"arn:{PARTITION}:s3:::{literal('bucket')}"
        if type_ == "aws_kms_key":
            return f"arn:{PARTITION}:kms:{region}:{account}:key/{self._key_id(name)}"
        if type_ in ("aws_iam_role", "aws_iam_policy"):
            kind = "role" if type_ == "aws_iam_role" else "policy"
            path = self.resolve(config.get("path", "/"))
            return f"arn:{PARTITION}:iam::{account}:{kind}{path}{literal('name')}"
        if type_ == "aws_sns_topic":
            return f"arn:{PARTITION}:sns:{region}:{account}:{literal('name')}"
        if type_ == "aws_sagemaker_notebook_instance":
            # SageMaker lower-cases resource names in ARNs.
            return f"arn:{PARTITION}:sagemaker:{region}:{account}:notebook-instance/{literal('name').lower()}"
        if type_ == "aws_budgets_budget":
            return f"arn:{PARTITION}:budgets::{account}:budget/{literal('name')}"
        if type_ == "aws_cloudwatch_log_group":
            # The provider's arn attribute drops the ":*" the API appends (aws_cloudwatch_log_group docs).
            return f"arn:{PARTITION}:logs:{region}:{account}:log-group:{literal('name')}"
        if type_ == "aws_codeartifact_domain":
            return f"arn:{PARTITION}:codeartifact:{region}:{account}:domain/{literal('domain')}"
        if type_ == "aws_codeartifact_repository":
            # CodeArtifact's resource types (Service Authorization Reference): repository/<domain>/<repository>.
            domain, repository = literal("domain"), literal("repository")
            return f"arn:{PARTITION}:codeartifact:{region}:{account}:repository/{domain}/{repository}"
        if type_ in ("aws_rolesanywhere_trust_anchor", "aws_rolesanywhere_profile"):
            # Service Authorization Reference, IAM Roles Anywhere: trust-anchor/<id> and profile/<id>,
            # ids (UUIDs) generated at creation.
            kind = "trust-anchor" if type_ == "aws_rolesanywhere_trust_anchor" else "profile"
            return f"arn:{PARTITION}:rolesanywhere:{region}:{account}:{kind}/{self._key_id(type_ + name)}"
        if type_ == "aws_cloudwatch_event_rule":
            # A rule on the default event bus (EventBridge: arn:...:rule/[bus-name/]rule-name).
            if config.get("event_bus_name", "default") != "default":
                raise ValueError(f"{type_}.{name}: rules on another event bus are not modelled")
            return f"arn:{PARTITION}:events:{region}:{account}:rule/{literal('name')}"
        raise ValueError(f"no ARN format for {type_}")

    @staticmethod
    def generated_id(type_: str, name: str) -> str:
        """A stable stand-in for the id EC2 assigns resource ``name`` of ``type_`` (a prefix and 17 hex
        digits): ``vpce-...`` for a VPC endpoint (the value of ``aws:SourceVpce`` in requests through
        it), ``vpc-...`` for a VPC (``aws:SourceVpc``)."""
        return f"{_GENERATED_ID_PREFIX[type_]}-{hashlib.sha256(name.encode()).hexdigest()[:17]}"

    @staticmethod
    def _key_id(name: str) -> str:
        """A stable, UUID-shaped stand-in for the id KMS (or IAM Roles Anywhere) assigns."""
        digest = hashlib.sha256(name.encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    # -- what the access simulation needs -------------------------------------------------------
    def roles(self) -> dict[str, Role]:
        """Every role of the stack, keyed by its Terraform resource name."""
        roles = {}
        for name, config in self.resources("aws_iam_role").items():
            role_name = self.resolve(config["name"])
            inline = {
                self.resolve(p["name"]): self.policy(p["policy"])
                for p in self.resources("aws_iam_role_policy").values()
                if self.resolve(p["role"]) == role_name
            }
            managed = {
                arn: self.managed_policy(arn)
                for arn in (
                    self.resolve(a["policy_arn"])
                    for a in self.resources("aws_iam_role_policy_attachment").values()
                    if self.resolve(a["role"]) == role_name
                )
            }
            roles[name] = Role(
                name=role_name,
                arn=self.arn("aws_iam_role", name),
                trust=self.policy(config["assume_role_policy"]),
                inline=inline,
                managed=managed,
            )
        return roles

    def role(self, prefix: str) -> Role:
        """The only role whose Terraform resource name starts with ``prefix`` (e.g. ``NotebookRole``)."""
        [role] = [r for name, r in self.roles().items() if name.startswith(prefix)]
        return role

    def managed_policy(self, arn: str) -> dict:
        """The document of a customer-managed policy of this stack, by ARN."""
        for name, config in self.resources("aws_iam_policy").items():
            if self.arn("aws_iam_policy", name) == arn:
                return self.policy(config["policy"])
        raise ValueError(f"{arn} is not a policy of this stack (AWS managed policies are not modelled)")

    def resource_policy(self, type_: str, target_arn: str) -> dict | None:
        """The resource policy on ``target_arn``: a bucket, key or topic policy, or None."""
        if type_ == "aws_kms_key":
            for name, config in self.resources(type_).items():
                if self.arn(type_, name) == target_arn:
                    return self.policy(config["policy"])
            raise ValueError(f"no key {target_arn}")
        attached_to = {"aws_s3_bucket_policy": "bucket", "aws_sns_topic_policy": "arn"}[type_]
        for config in self.resources(type_).values():
            target = self.resolve(config[attached_to])
            if target_arn in (target, f"arn:{PARTITION}:s3:::{target}"):
                return self.policy(config["policy"])
        return None
