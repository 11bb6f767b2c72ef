"""BraketStateChangeAlerts: an EventBridge rule that sends Braket jobs' and tasks' final states to the budget topic."""

from __future__ import annotations

import json
import re
from typing import Optional, Protocol

from .cdk import TerraformProvider
from .aws.cloudwatch_event_rule import CloudwatchEventRule
from .aws.cloudwatch_event_target import CloudwatchEventTarget
from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from constructs import Construct

from ._scope import apply_provider, check_provider, path_name, path_sid
from ._validation import require, require_bool

EVENTS_SERVICE = "events.amazonaws.com"
# Amazon EventBridge events reference, "Amazon Braket events": Braket sends these detail types
# directly to EventBridge (durable delivery) with source aws.braket. The Braket Developer Guide
# ("Monitoring quantum tasks with EventBridge") lists the task event's detail fields, among them
# "status"; the job event's detail carries jobArn and status (AWS's "Quantum Computing Exploration
# for Drug Discovery" solution filters it on detail.status the same way).
BRAKET_EVENT_SOURCE = "aws.braket"
JOB_STATE_CHANGE = "Braket Job State Change"
TASK_STATE_CHANGE = "Braket Task State Change"
# The final states of a quantum task (CREATED QUEUED RUNNING COMPLETED FAILED CANCELLING CANCELLED)
# and of a hybrid job (QUEUED RUNNING COMPLETED FAILED CANCELLING CANCELLED): Braket API Reference,
# GetQuantumTask and GetJob "status".
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED")
_RULE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AlertsTopic(Protocol):
    """An encrypted topic that can let a service publish to it, such as a ``BraketBudget``."""

    @property
    def topic_arn(self) -> str: ...

    def grant_publish(self, service_principal: str, source_arn: str, *, sid: str) -> bool: ...


class BraketStateChangeAlerts(Construct):
    """Alerts when a Braket hybrid job or quantum task of this account reaches a final state.

    - An EventBridge rule on the default event bus matching ``source`` ``aws.braket``, the
      ``detail-type`` ``Braket Job State Change`` (and, with ``quantum_tasks``, ``Braket Task
      State Change``), ``account`` = this account, and ``detail.status`` COMPLETED, FAILED or
      CANCELLED.
    - Its target is the alerts topic of ``budget`` (a ``BraketBudget``: encrypted with its own
      key). ``budget.grant_publish`` lets EventBridge publish there (without conditions: its
      guide allows none in an SNS topic policy) and use the key only for that topic.

    :param budget: the ``BraketBudget`` whose topic receives the alerts (or anything with
        ``topic_arn`` and ``grant_publish``).
    :param quantum_tasks: also alert on each quantum task's final state. Default: True (a batch
        of 1,000 tasks then sends 1,000 messages; False keeps hybrid jobs only).
    :param rule_name: default ``braket-state-changes-<construct path>`` (unique in the app, cut
        to EventBridge's 64 characters with a hash when longer).
    :param provider: the AWS provider of every resource and data source of this construct
        (the rule must be in the topic's region). Default: the stack's default provider.

    Attributes: ``rule_arn``, ``rule_name``, ``event_pattern`` (the pattern as a dict); the
    resources ``rule`` (``CloudwatchEventRule``) and ``target``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        budget: AlertsTopic,
        quantum_tasks: bool = True,
        rule_name: Optional[str] = None,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        require(
            isinstance(getattr(budget, "topic_arn", None), str) and callable(getattr(budget, "grant_publish", None)),
            "budget",
            budget,
            "a BraketBudget (or another object with topic_arn and grant_publish)",
        )
        require_bool("quantum_tasks", quantum_tasks)
        require(rule_name is None or isinstance(rule_name, str), "rule_name", rule_name, "None or an EventBridge rule name")
        name = rule_name or path_name("braket-state-changes", self, 64, allowed=r"A-Za-z0-9._-")
        require(bool(_RULE_NAME.match(name)), "rule_name", name, "1-64 letters, digits, '.', '_' and '-'")

        account = DataAwsCallerIdentity(self, "Account").account_id
        self.event_pattern: dict = {
            "source": [BRAKET_EVENT_SOURCE],
            "detail-type": [JOB_STATE_CHANGE, *([TASK_STATE_CHANGE] if quantum_tasks else [])],
            "account": [account],
            "detail": {"status": list(FINAL_STATES)},
        }
        """The rule's event pattern (the account as a Terraform reference)."""
        self.rule = CloudwatchEventRule(
            self,
            "Rule",
            name=name,
            description="Amazon Braket hybrid jobs and quantum tasks of this account that reached a final state",
            event_pattern=json.dumps(self.event_pattern),
            state="ENABLED",
        )
        self._rule_arn = self.rule.arn
        self.target = CloudwatchEventTarget(
            self,
            "Target",
            rule=self.rule.name,
            target_id="alerts-topic",
            arn=budget.topic_arn,
        )
        budget.grant_publish(EVENTS_SERVICE, self._rule_arn, sid=path_sid(self))
        apply_provider(self, provider)

    @property
    def rule_arn(self) -> str:
        """The rule's ARN (a Terraform reference)."""
        return self._rule_arn

    @property
    def rule_name(self) -> str:
        """The rule's name (a Terraform reference)."""
        return self.rule.name
