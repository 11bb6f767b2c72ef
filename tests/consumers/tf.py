"""Readers for the consumer apps' synthesized Terraform JSON (a real App's output, with "//" metadata)."""

from __future__ import annotations

import json
import re
from typing import Iterator

_DOCUMENT_REF = re.compile(r"^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}$")


def blocks(doc: dict, kind: str = "resource") -> Iterator[tuple[str, str, dict]]:
    """(type, name, body) of every resource (``kind="resource"``) or data source (``kind="data"``)."""
    for type_, named in doc.get(kind, {}).items():
        for name, body in named.items():
            yield type_, name, body


def construct_path(body: dict) -> str:
    """The construct path cdktf records for a block, e.g. ``stack/Team/NotebookRole/Role``."""
    return body["//"]["metadata"]["path"]


def of_type(doc: dict, type_: str, kind: str = "resource") -> dict[str, dict]:
    return doc.get(kind, {}).get(type_, {})


def under(doc: dict, type_: str, path_prefix: str, kind: str = "resource") -> dict[str, dict]:
    """The blocks of ``type_`` created under the construct path ``path_prefix`` (a construct's own blocks)."""
    prefix = path_prefix.rstrip("/") + "/"
    return {name: body for name, body in of_type(doc, type_, kind).items() if construct_path(body).startswith(prefix)}


def one(mapping: dict) -> tuple[str, dict]:
    assert len(mapping) == 1, f"expected exactly one, got {sorted(mapping)}"
    return next(iter(mapping.items()))


def ref(type_: str, name: str, attribute: str, kind: str = "resource") -> str:
    address = f"{type_}.{name}" if kind == "resource" else f"data.{type_}.{name}"
    return "${" + f"{address}.{attribute}" + "}"


def role_policies(doc: dict, role: str) -> dict[str, dict]:
    """Every ``aws_iam_role_policy`` attached to the ``aws_iam_role`` named ``role`` (its Terraform name)."""
    targets = {ref("aws_iam_role", role, "name"), ref("aws_iam_role", role, "id")}
    return {name: body for name, body in of_type(doc, "aws_iam_role_policy").items() if body.get("role") in targets}


def document_statements(doc: dict, policy: str) -> list[dict]:
    """The statements of a policy: a reference to an ``aws_iam_policy_document`` (its source and
    override documents included) or literal policy JSON."""
    match = _DOCUMENT_REF.match(policy)
    if match is None:
        statements = json.loads(policy).get("Statement", [])
        return statements if isinstance(statements, list) else [statements]
    document = of_type(doc, "aws_iam_policy_document", "data")[match[1]]
    statements = list(document.get("statement", []))
    for key in ("source_policy_documents", "override_policy_documents"):
        for nested in document.get(key, []):
            statements.extend(document_statements(doc, nested))
    return statements


def role_statements(doc: dict, role: str) -> list[dict]:
    """Every statement of every inline policy of the role named ``role``."""
    return [s for body in role_policies(doc, role).values() for s in document_statements(doc, body["policy"])]


def actions(statement: dict) -> list[str]:
    return statement.get("actions") or statement.get("Action") or []


def resources_of(statement: dict) -> list[str]:
    value = statement.get("resources") or statement.get("Resource") or []
    return [value] if isinstance(value, str) else value


def sid(statement: dict) -> str | None:
    return statement.get("sid") or statement.get("Sid")


def mentions(value: object, needle: str) -> bool:
    return needle in json.dumps(value)


def canonical(statement: dict) -> str:
    """A statement's content without its Sid, comparable across documents."""
    return json.dumps({k: v for k, v in statement.items() if k not in ("sid", "Sid")}, sort_keys=True)
