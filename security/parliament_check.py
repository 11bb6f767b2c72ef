#!/usr/bin/env python
"""Lint every IAM policy document in synthesized stacks with parliament; print findings as JSON.

Runs inside .venv-checkov (parliament's pins stay out of the app's environment):
    .venv-checkov/bin/python security/parliament_check.py cdktf.out/stacks/*/cdk.tf.json
Prints {"findings": [...], "accepted": [...]}; each accepted finding carries the reason it is accepted.
"""

from __future__ import annotations

import json
import re
import sys

from parliament import analyze_policy_string, enhance_finding

# Findings reviewed and accepted, matched on (issue, policy document name pattern), with the reason.
ACCEPTED = {
    ("RESOURCE_MISMATCH", r"NotebookRole_PolicyDocument"): (
        "parliament's IAM data knows no Braket 'device' resource type, but Braket documents "
        "device-ARN policies for CreateQuantumTask/CreateJob/GetDevice; the statement also lists the "
        "quantum-task/job types IAM's reference names"
    ),
    ("RESOURCE_STAR", r"KeyPolicy"): 'a KMS key policy\'s Resource "*" means the key itself',
}
# Trust policies have no Resource by design; parliament reports them MALFORMED, so they are not linted.
TRUST_POLICY = re.compile(r"Trust")

_PLACEHOLDERS = [
    (r"\$\{data\.aws_partition\.[^}]+\.partition\}", "aws"),
    (r"\$\{data\.aws_caller_identity\.[^}]+\.account_id\}", "123456789012"),
    (r"\$\{data\.aws_region\.[^}]+\.(name|region)\}", "us-east-1"),
]
_ARN_FORMATS = {
    "aws_s3_bucket": "arn:aws:s3:::{n}",
    "aws_kms_key": "arn:aws:kms:us-east-1:123456789012:key/{n}",
    "aws_sagemaker_notebook_instance": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/{n}",
    "aws_iam_role": "arn:aws:iam::123456789012:role/{n}",
    "aws_iam_policy": "arn:aws:iam::123456789012:policy/{n}",
    "aws_sns_topic": "arn:aws:sns:us-east-1:123456789012:{n}",
    "aws_budgets_budget": "arn:aws:budgets::123456789012:budget/{n}",
}
_REFERENCE = re.compile(r"\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_]+)\.(arn|id|name|bucket)\}")


def _concrete(text: str) -> str:
    """Terraform references replaced by plausible literal values, so parliament can parse ARNs."""
    for pattern, value in _PLACEHOLDERS:
        text = re.sub(pattern, value, text)

    def literal(match: re.Match) -> str:
        kind, name, attribute = match.groups()
        if attribute == "arn":
            return _ARN_FORMATS.get(kind, "arn:aws:iam::123456789012:x/{n}").format(n=name.lower())
        return name.lower()

    return _REFERENCE.sub(literal, text)


def to_iam_json(document: dict) -> dict:
    """A synthesized aws_iam_policy_document block as an IAM policy."""
    statements = []
    for block in document.get("statement", []):
        statement = {"Effect": block.get("effect", "Allow")}
        if "sid" in block:
            statement["Sid"] = block["sid"]
        for key, iam_key in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"), ("not_resources", "NotResource")):
            if key in block:
                statement[iam_key] = block[key]
        if "principals" in block:
            principals = block["principals"]
            statement["Principal"] = "*" if any(p["type"] == "*" for p in principals) else {p["type"]: p["identifiers"] for p in principals}
        for condition in block.get("condition", []):
            values = condition["values"]
            # parliament 1.6.4 crashes on one-element lists for some operators (Bool): IAM accepts both forms.
            statement.setdefault("Condition", {}).setdefault(condition["test"], {})[condition["variable"]] = values[0] if len(values) == 1 else values
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def main(paths: list[str]) -> None:
    findings, accepted = [], []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            stack = json.load(handle)
        for name, document in stack.get("data", {}).get("aws_iam_policy_document", {}).items():
            if TRUST_POLICY.search(name):
                continue
            policy = _concrete(json.dumps(to_iam_json(document)))
            for finding in analyze_policy_string(policy, name).findings:
                finding = enhance_finding(finding)
                entry = {"stack": path, "document": name, "issue": finding.issue, "detail": str(finding.detail)}
                reason = next((r for (issue, pattern), r in ACCEPTED.items() if issue == finding.issue and re.search(pattern, name)), None)
                (accepted if reason else findings).append({**entry, "reason": reason} if reason else entry)
    print(json.dumps({"findings": findings, "accepted": accepted}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
