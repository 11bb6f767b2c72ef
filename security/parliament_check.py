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

from iam_documents import SynthesizedStack  # this directory: the documents as AWS would store them
from parliament import analyze_policy_string, enhance_finding

# Findings reviewed and accepted, matched on (issue, policy document name pattern), with the reason.
ACCEPTED = {
    ("RESOURCE_MISMATCH", r"^(NotebookRole_PolicyDocument|JobsExecutionRole_PolicyDocument|Gateway_PolicyDocument|Network_Endpoint-braket-Policy)"): (
        "parliament's IAM data knows no Braket 'device' resource type, but Braket documents "
        "device-ARN policies for CreateQuantumTask/CreateJob/GetDevice; the statement also lists the "
        "quantum-task/job types IAM's reference names"
    ),
    ("RESOURCE_STAR", r"KeyPolicy"): 'a KMS key policy\'s Resource "*" means the key itself',
    ("RESOURCE_STAR", r"^Network_Endpoint-"): (
        "a VPC endpoint policy admits the listed calls of this account's principals (aws:PrincipalAccount); "
        "the callers' identity policies, linted here too, scope the resources"
    ),
    ("UNKNOWN_CONDITION_FOR_ACTION", r"^Network_FlowLogKeyPolicy"): (
        "the CloudWatch Logs User Guide's key policy for an encrypted log group (\"Encrypt log data in "
        "CloudWatch Logs using AWS KMS\") puts kms:Describe* under the kms:EncryptionContext:aws:logs:arn condition"
    ),
    ("MISMATCHED_TYPE", r"^Network_FlowLogKeyPolicy"): (
        "the log group's ARN under ArnEquals, as the CloudWatch Logs User Guide writes it; parliament takes "
        "the ARN's '/'-separated log group name for a plain string"
    ),
}
# Findings accepted by what they name (the finding's detail), with the reason.
ACCEPTED_DETAILS = {
    ("RESOURCE_MISMATCH", r"'s3:GetObjectAttributes', 'required_format': 'arn:\*:s3:\*:\*:accesspoint/\*'"): (
        "s3:GetObject* includes GetObjectAttributes, for which parliament's IAM data knows access points only; "
        "the Service Authorization Reference lists the object ARN for it"
    ),
    ("UNKNOWN_ACTION", r"braket:(Create|Update|Delete|Search)SpendingLimits?$"): (
        "Braket's spending-limit actions (API of November 2025) are newer than parliament's IAM data; "
        "the Service Authorization Reference for Amazon Braket lists them"
    ),
}
# Trust policies have no Resource by design; parliament reports them MALFORMED, so they are not linted.
TRUST_POLICY = re.compile(r"Trust")


def _for_parliament(policy: dict) -> dict:
    """parliament 1.6.4 crashes on one-element condition lists for some operators (Bool); IAM accepts both forms."""
    for statement in policy["Statement"]:
        for operator in statement.get("Condition", {}).values():
            for key, values in operator.items():
                operator[key] = values[0] if len(values) == 1 else values
    return policy


def main(paths: list[str]) -> None:
    findings, accepted = [], []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            stack = SynthesizedStack(json.load(handle))
        for name in stack.doc.get("data", {}).get("aws_iam_policy_document", {}):
            if TRUST_POLICY.search(name):
                continue
            policy = json.dumps(_for_parliament(stack.policy_document(name)))
            for finding in analyze_policy_string(policy, name).findings:
                finding = enhance_finding(finding)
                entry = {"stack": path, "document": name, "issue": finding.issue, "detail": str(finding.detail)}
                reason = next((r for (issue, pattern), r in ACCEPTED.items() if issue == finding.issue and re.search(pattern, name)), None)
                reason = reason or next(
                    (r for (issue, pattern), r in ACCEPTED_DETAILS.items()
                     if issue == finding.issue and re.search(pattern, entry["detail"])),
                    None,
                )
                (accepted if reason else findings).append({**entry, "reason": reason} if reason else entry)
    print(json.dumps({"findings": findings, "accepted": accepted}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
