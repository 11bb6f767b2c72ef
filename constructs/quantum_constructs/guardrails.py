"""Guardrails: synthesis fails when a stack breaks the rules these constructs exist to keep.

They read the stack's own Terraform JSON at validation time, so they catch a
violation whoever wrote it: our constructs, a team's raw resources, or an
escape-hatch override.

    add_guardrails(stack, production=True)   # then app.synth() raises on any violation
"""

from __future__ import annotations

from typing import Any

import jsii
from cdktf import TerraformStack
from constructs import IValidation

_PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


@jsii.implements(IValidation)
class StackGuardrails:
    """Every bucket encrypted and fully private; notebooks without root; no wildcard Allow; in
    production, no bucket that ``terraform destroy`` could empty."""

    def __init__(self, stack: TerraformStack, *, production: bool) -> None:
        self._stack = stack
        self._production = production

    def validate(self) -> list[str]:
        config = self._stack.to_terraform()
        resources: dict[str, dict[str, Any]] = config.get("resource", {})
        data: dict[str, dict[str, Any]] = config.get("data", {})
        return [
            *self._bucket_errors(resources),
            *self._notebook_errors(resources),
            *self._policy_errors(data),
        ]

    def _bucket_errors(self, resources: dict) -> list[str]:
        def buckets_covered(type_: str, ok=lambda block: True) -> set[str]:
            return {block["bucket"] for block in resources.get(type_, {}).values() if ok(block)}

        encrypted = buckets_covered("aws_s3_bucket_server_side_encryption_configuration")
        private = buckets_covered(
            "aws_s3_bucket_public_access_block", lambda b: all(b.get(f) is True for f in _PUBLIC_ACCESS_FLAGS)
        )
        errors = []
        for name, bucket in resources.get("aws_s3_bucket", {}).items():
            reference = "${aws_s3_bucket." + name + ".id}"
            label = f"S3 bucket {bucket.get('bucket', name)!r}"
            if reference not in encrypted:
                errors.append(f"{label} has no server-side encryption configuration")
            if reference not in private:
                errors.append(f"{label} has no public access block with all four flags true")
            if self._production and bucket.get("force_destroy") is True:
                errors.append(f"{label} has force_destroy in a production stack: destroy would delete its results")
        return errors

    @staticmethod
    def _notebook_errors(resources: dict) -> list[str]:
        return [
            f"SageMaker notebook {notebook.get('name', name)!r} has root access: set root_access to 'Disabled'"
            for name, notebook in resources.get("aws_sagemaker_notebook_instance", {}).items()
            if notebook.get("root_access") != "Disabled"
        ]

    @staticmethod
    def _policy_errors(data: dict) -> list[str]:
        errors = []
        for name, document in data.get("aws_iam_policy_document", {}).items():
            for statement in document.get("statement", []):
                if statement.get("effect", "Allow") != "Allow":
                    continue
                wildcards = [a for a in statement.get("actions", []) if a == "*" or a.endswith(":*")]
                if wildcards:
                    errors.append(f"IAM policy document {name!r} allows wildcard actions {wildcards}: list the actions")
        return errors


def add_guardrails(stack: TerraformStack, *, production: bool = False) -> None:
    """Fail ``synth`` with every violation listed when ``stack`` breaks a guardrail."""
    stack.node.add_validation(StackGuardrails(stack, production=production))
