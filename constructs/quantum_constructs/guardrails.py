"""Guardrails: synthesis fails when a stack breaks the rules these constructs exist to keep.

They read the stack's own Terraform JSON at validation time, so they catch a
violation whoever wrote it: our constructs, a team's raw resources, or an
escape-hatch override.

    add_guardrails(stack, production=True)   # then app.synth() raises on any violation
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import jsii
from .cdk import TerraformStack
from constructs import IValidation

_PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
# Attributes holding a policy document as a string: identity policies (aws_iam_role_policy,
# aws_iam_policy, aws_iam_user_policy, aws_iam_group_policy, aws_iam_role's inline_policy) and
# resource policies (aws_s3_bucket_policy, aws_kms_key, aws_sns_topic_policy, ...) alike.
_POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
# `Fn.jsonencode({...})` as cdktf writes it: an HCL literal inside `${jsonencode(...)}`.
_JSONENCODE = re.compile(r"\$\{\s*jsonencode\((.*)\)\s*\}", re.DOTALL)
_JSON_WORD = re.compile(r"true|false|null|-?\d+(\.\d+)?([eE][-+]?\d+)?")


class _Unreadable(ValueError):
    """A policy written as text that is neither JSON nor a jsonencode literal."""


@jsii.implements(IValidation)
class StackGuardrails:
    """Every bucket encrypted and fully private; notebooks without root; no wildcard Allow; in
    production, no bucket that ``terraform destroy`` could empty.

    "No wildcard Allow" holds in every policy the stack writes: ``DataAwsIamPolicyDocument``
    statements, and policies given as JSON text (``json.dumps(...)``) or ``Fn.jsonencode(...)``
    in any resource's ``policy`` (identity and resource policies alike; the library's own key
    policies list their actions for this reason). An Allow may not have the action ``*`` or
    ``service:*``, nor a ``NotAction``, which allows everything it does not name. A policy that is
    a Terraform expression (``${data.aws_iam_policy_document.x.json}``, ``${file(...)}``) is not
    read here: a document data source is checked as such, anything else is known only at apply.
    """

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
            *self._raw_policy_errors(resources, data),
        ]

    def _bucket_errors(self, resources: dict) -> list[str]:
        def buckets_covered(type_: str, ok=lambda block: True) -> set[str]:
            return {block.get("bucket") for block in resources.get(type_, {}).values() if ok(block)}

        encrypted = buckets_covered("aws_s3_bucket_server_side_encryption_configuration")
        private = buckets_covered(
            "aws_s3_bucket_public_access_block", lambda b: all(b.get(f) is True for f in _PUBLIC_ACCESS_FLAGS)
        )
        errors = []
        for name, bucket in resources.get("aws_s3_bucket", {}).items():
            # A side resource names its bucket by the bucket's id or bucket attribute (both are
            # the name), or by the name itself, a literal or the same expression as the bucket's.
            names = {"${aws_s3_bucket." + name + ".id}", "${aws_s3_bucket." + name + ".bucket}"}
            if isinstance(bucket.get("bucket"), str) and bucket["bucket"]:
                names.add(bucket["bucket"])
            label = f"S3 bucket {bucket.get('bucket', name)!r}"
            if not names & encrypted:
                errors.append(f"{label} has no server-side encryption configuration")
            if not names & private:
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
                wildcards = _wildcards(statement.get("actions", []))
                if wildcards:
                    errors.append(f"IAM policy document {name!r} allows wildcard actions {wildcards}: list the actions")
                if statement.get("not_actions"):
                    errors.append(
                        f"IAM policy document {name!r} allows every action but {statement['not_actions']} "
                        "(not_actions in an Allow): list the actions"
                    )
        return errors

    @staticmethod
    def _raw_policy_errors(resources: dict, data: dict) -> list[str]:
        errors = []
        for where, text in _policy_texts(resources, data):
            try:
                document = _read_policy(text)
            except _Unreadable:
                errors.append(
                    f"IAM policy in {where} is neither JSON nor a jsonencode literal, so it cannot be checked: "
                    "write it with json.dumps, Fn.jsonencode or a DataAwsIamPolicyDocument"
                )
                continue
            for statement in _statements(document):
                if statement.get("Effect") in ("Deny", "deny"):
                    continue  # anything else, a Terraform expression included, may allow
                sid = f" (statement {statement['Sid']!r})" if isinstance(statement.get("Sid"), str) else ""
                wildcards = _wildcards(statement.get("Action", []))
                if wildcards:
                    errors.append(f"IAM policy in {where}{sid} allows wildcard actions {wildcards}: list the actions")
                if "NotAction" in statement:
                    errors.append(
                        f"IAM policy in {where}{sid} allows every action but {statement['NotAction']!r} "
                        "(NotAction in an Allow): list the actions"
                    )
        return errors


def _wildcards(actions: Any) -> list[str]:
    """The actions in ``actions`` (one or a list) that are ``*`` or a whole service."""
    actions = [actions] if isinstance(actions, str) else actions if isinstance(actions, list) else []
    return [a for a in actions if isinstance(a, str) and (a == "*" or a.endswith(":*"))]


def _policy_texts(resources: dict, data: dict) -> Iterator[tuple[str, str]]:
    """(where, text) for every policy the stack holds as a string, where a Terraform address."""
    for type_, blocks in resources.items():
        for name, block in blocks.items():
            if not isinstance(block, dict):
                continue
            for attribute in _POLICY_ATTRIBUTES:
                if isinstance(block.get(attribute), str):
                    yield f"{type_}.{name}", block[attribute]
            for inline in block.get("inline_policy") or []:  # aws_iam_role
                if isinstance(inline, dict) and isinstance(inline.get("policy"), str):
                    yield f"{type_}.{name} inline_policy {inline.get('name', '')!r}", inline["policy"]
    for name, document in data.get("aws_iam_policy_document", {}).items():
        for attribute in ("source_policy_documents", "override_policy_documents"):
            for text in document.get(attribute) or []:
                if isinstance(text, str):
                    yield f"data.aws_iam_policy_document.{name} {attribute}", text


def _read_policy(text: str) -> Any:
    """The document in a policy string; None for a Terraform expression, which is not read here.

    Terraform expressions inside the text (``"Resource": "${aws_s3_bucket.x.arn}/*"``, or bare in
    a jsonencode literal) are read as strings: they never name an action ``*``.
    """
    text = text.strip()
    encoded = _JSONENCODE.fullmatch(text)
    if encoded:
        text = encoded.group(1)
    elif not text.startswith("{"):
        return None  # "${data.aws_iam_policy_document.x.json}", "${file(...)}": an expression
    for candidate in (text, _hcl_literal_as_json(text)):
        try:
            return json.loads(candidate, strict=False)
        except ValueError:
            pass
    raise _Unreadable(text)


def _statements(document: Any) -> list[dict]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    statements = [statements] if isinstance(statements, dict) else statements
    return [s for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []


def _hcl_literal_as_json(text: str) -> str:
    """``text``, JSON or an HCL literal as cdktf writes ``Fn.jsonencode``'s argument, as JSON text.

    ``=`` becomes ``:``; a bare expression (``aws_s3_bucket.x.arn``, ``join(...)``,
    ``${...}``) becomes a string holding it.
    """
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
        elif c in "{}[],:=":
            out.append(":" if c == "=" else c)
            end = i + 1
        elif c.isspace():
            end = i + 1
        else:
            end = _expression_end(text, i)
            word = text[i:end].strip()
            out.append(word if _JSON_WORD.fullmatch(word) else json.dumps(word))
        i = max(end, i + 1)
    return "".join(out)


def _string_end(text: str, i: int) -> int:
    """The index after the string literal opening at ``text[i]``, templates (``${...}``) included."""
    i += 1
    while i < len(text):
        if text[i] == "\\" or text.startswith(("$${", "%%{"), i):
            i += 2 if text[i] == "\\" else 3
        elif text[i] == '"':
            return i + 1
        elif text.startswith(("${", "%{"), i):
            i = _expression_end(text, i + 2) + 1  # past the template's closing brace
        else:
            i += 1
    return i


def _expression_end(text: str, i: int) -> int:
    """The index of the first ``,`` or unopened closing bracket from ``text[i]``, outside strings and brackets."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _string_end(text, i)
            continue
        if c in "([{" or (c == "$" and text.startswith("${", i)):
            depth += 1
            i += 2 if c == "$" else 1
            continue
        if c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif c == "," and depth == 0:
            return i
        i += 1
    return i


def add_guardrails(stack: TerraformStack, *, production: bool = False) -> None:
    """Fail ``synth`` with every violation listed when ``stack`` breaks a guardrail."""
    stack.node.add_validation(StackGuardrails(stack, production=production))
