"""IAM enforcement for the emulated Braket API: the caller's identity policies, decided as AWS does.

Braket resources carry no resource policy, so a call is allowed when the caller's identity
policies allow it (and deny nothing) for every resource the action names. The decision
is the access simulation's evaluator (tests/access/evaluator.py); the device ARN it sees
is the one IAM evaluates, with the account filled in (amazon-braket-sdk-python#395:
"braket:GetDevice on resource: arn:aws:braket::178363055402:device/qpu/ionq/ionQdevice").

A request may carry condition keys of its own: CreateJob's ``iam:PassRole`` is decided with
``iam:PassedToService`` (Service Authorization Reference, Amazon Braket: CreateJob's dependent
actions), passed as ``denial(..., context={...})``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from security.iam_documents import ACCOUNT as ACCOUNT_ID
from security.iam_documents import SynthesizedStack
from tests.access.evaluator import Decision, Request, evaluate

from .devices import Device

SESSION_NAME = "SageMaker"


def iam_device_arn(device: Device) -> str:
    """The device's ARN as IAM evaluates it: the SDK's ARN with the account filled in."""
    arn, partition, service, region, _account, resource = device.arn.split(":", 5)
    return f"{arn}:{partition}:{service}:{region}:{ACCOUNT_ID}:{resource}"


@dataclass(frozen=True)
class CallerIdentity:
    """The role every request is made as, and the identity policies attached to it."""

    principal_arn: str
    policies: Sequence[dict]

    @classmethod
    def from_policy_file(cls, path: str | Path, principal_arn: str | None = None) -> CallerIdentity:
        """An IAM policy document (JSON file), attached to ``principal_arn`` (default: a plain role)."""
        policy = json.loads(Path(path).read_text())
        return cls(principal_arn or f"arn:aws:iam::{ACCOUNT_ID}:role/BraketCaller", (policy,))

    @classmethod
    def from_stack(cls, cdk_tf_json: str | Path | dict, role: str = "NotebookRole") -> CallerIdentity:
        """The role of a synthesized stack (by Terraform resource name prefix) with all its policies."""
        doc = cdk_tf_json if isinstance(cdk_tf_json, dict) else json.loads(Path(cdk_tf_json).read_text())
        stack_role = SynthesizedStack(doc, account=ACCOUNT_ID).role(role)
        return cls(stack_role.arn, tuple(stack_role.identity_policies))

    def denial(self, action: str, resources: Sequence[str],
               context: Mapping[str, object] | None = None) -> str | None:
        """None when IAM allows ``action`` on every resource, else Braket's AccessDenied message.
        ``context``: condition keys the request carries besides the caller's own."""
        for resource in resources:
            request = Request(self.principal_arn, action, resource,
                              {"aws:PrincipalArn": self.principal_arn, "aws:PrincipalAccount": ACCOUNT_ID,
                               "aws:SecureTransport": True, **(context or {})})
            result = evaluate(request, self.policies, None, resource_account=ACCOUNT_ID)
            if result.decision is Decision.ALLOW:
                continue
            why = ("with an explicit deny in an identity-based policy"
                   if result.decision is Decision.EXPLICIT_DENY
                   else f"because no identity-based policy allows the {action} action")
            return self.refusal(action, resource, why)
        return None

    def refusal(self, action: str, resource: str, why: str) -> str:
        """IAM's AccessDenied message for this identity."""
        return f"User: {self._session_arn()} is not authorized to perform: {action} on resource: {resource} {why}"

    def _session_arn(self) -> str:
        role_name = self.principal_arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{SESSION_NAME}"
