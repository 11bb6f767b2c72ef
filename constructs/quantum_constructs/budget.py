"""BraketBudget: a monthly Amazon Braket cost budget that alerts and, at the limit, stops new spend."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Optional, Protocol, Sequence

from .aws.budgets_budget import BudgetsBudget, BudgetsBudgetCostFilter, BudgetsBudgetNotification
from .aws.budgets_budget_action import (
    BudgetsBudgetAction,
    BudgetsBudgetActionActionThreshold,
    BudgetsBudgetActionDefinition,
    BudgetsBudgetActionDefinitionIamActionDefinition,
    BudgetsBudgetActionSubscriber,
)
from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from .aws.data_aws_partition import DataAwsPartition
from .aws.data_aws_region import DataAwsRegion
from .aws.iam_policy import IamPolicy
from .aws.iam_role import IamRole
from .aws.iam_role_policy import IamRolePolicy
from .aws.kms_key import KmsKey
from .aws.sns_topic import SnsTopic
from .aws.sns_topic_policy import SnsTopicPolicy
from .aws.sns_topic_subscription import SnsTopicSubscription
from .cdk import TerraformProvider
from constructs import Construct

from ._kms import key_policy_statements
from ._policy import PolicyStatements
from ._scope import apply_provider, bounded_name, check_provider
from ._validation import require, require_bool

# Cost Explorer's SERVICE dimension value for Braket charges.
BRAKET_COST_SERVICE = "Amazon Braket"
BUDGETS_SERVICE = "budgets.amazonaws.com"
SNS_SERVICE = "sns.amazonaws.com"
EVENTS_SERVICE = "events.amazonaws.com"
# What the kill switch denies: the two calls that start Braket spend.
KILL_SWITCH_ACTIONS = ["braket:CreateQuantumTask", "braket:CreateJob"]

# Conservative: valid as a budget name (no ':' or '\'), an SNS topic name (which
# refuses '.') and inside IAM role and policy names.
_BUDGET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_THRESHOLD_RANGE = (1, 1000)  # percent of the limit
_MAX_NOTIFICATIONS = 5  # AWS Budgets' limit per budget (actual thresholds + the forecast)
_IAM_ROLE_NAME_LIMIT = 64
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$")
_SID = re.compile(r"^[A-Za-z0-9]{1,100}$")


class RoleLike(Protocol):
    """Anything with an IAM role name and ARN, such as a ``BraketNotebookRole``."""

    @property
    def role_name(self) -> str: ...

    @property
    def role_arn(self) -> str: ...


class BraketBudget(Construct):
    """A monthly cost budget for Amazon Braket that alerts, and stops new spend at the limit.

    - A monthly ``COST`` budget in USD filtered to the ``Amazon Braket`` service.
    - Notifications to an SNS topic: one ``ACTUAL`` notification per entry of
      ``actual_thresholds`` and one ``FORECASTED`` at ``forecast_threshold`` (percent
      of the limit, all ``GREATER_THAN``); each address in ``alert_emails`` is
      subscribed to the topic (SNS emails a confirmation link first; an unconfirmed
      subscription is not deleted by ``terraform destroy`` but expires after 3 days).
    - The topic is encrypted with a customer-managed KMS key with rotation. The key
      policy and topic policy let only ``budgets.amazonaws.com`` (and SNS, for the
      key) in, and only on behalf of this account.
    - The kill switch (default on): when actual Braket spend passes 100% of the
      limit, AWS Budgets attaches, without approval, a customer-managed policy that
      denies ``braket:CreateQuantumTask`` and ``braket:CreateJob`` to ``role`` and every
      role of ``additional_roles`` (e.g. a ``BraketJobsExecutionRole``: a running hybrid job
      then creates no more tasks). Tasks and jobs already running are not cancelled. To
      resume, raise the limit or detach the policy (reset the action in the Budgets console).
    - ``grant_publish(service_principal, source_arn, sid=...)`` lets another AWS service
      publish to the topic for one source (e.g. an EventBridge rule), and use the key for it.

    Attributes: ``budget_name``, ``topic_arn``, ``kms_key_arn``, ``deny_policy_arn``,
    ``kill_switch_roles``; the resources ``budget``, ``topic``, ``topic_policy``, ``kms_key`` and,
    with the kill switch, ``deny_policy``, ``action_role`` and ``action``.

    :param budget_name: the budget's and the topic's name: 1-100 letters, digits,
        ``-`` and ``_``; unique in the account.
    :param monthly_limit_usd: the monthly limit in USD, more than 0 (kept to cents).
    :param role: the role whose Braket spend the kill switch stops, e.g. a
        ``BraketNotebookRole`` (anything with ``role_name`` and ``role_arn``).
    :param additional_roles: more roles the kill switch stops, e.g. a
        ``BraketJobsExecutionRole``. Default: none (``add_kill_switch_role`` adds one later).
    :param alert_emails: addresses subscribed to the alerts topic. Default: none
        (subscribe other endpoints to ``topic_arn`` yourself).
    :param actual_thresholds: percents of the limit (1-1000, unique, at most 4) at
        which actual spend alerts. Default: 50, 80, 100.
    :param forecast_threshold: percent of the limit (1-1000) the forecast must pass
        to alert. Default: 100.
    :param kill_switch: create the deny policy, the Budgets execution role and the
        automatic budget action. Default: True.
    :param provider: the AWS provider of every resource and data source of this budget.
        Default: the stack's default provider.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        budget_name: str,
        monthly_limit_usd: float,
        role: RoleLike,
        additional_roles: Sequence[RoleLike] = (),
        alert_emails: Sequence[str] = (),
        actual_thresholds: Sequence[int] = (50, 80, 100),
        forecast_threshold: int = 100,
        kill_switch: bool = True,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        require(
            isinstance(budget_name, str) and bool(_BUDGET_NAME.match(budget_name)),
            "budget_name",
            budget_name,
            "1-100 letters, digits, '-' and '_' (valid as a budget and an SNS topic name)",
        )
        require(
            isinstance(monthly_limit_usd, (int, float))
            and not isinstance(monthly_limit_usd, bool)
            and math.isfinite(monthly_limit_usd)
            and round(monthly_limit_usd, 2) > 0,
            "monthly_limit_usd",
            monthly_limit_usd,
            "a finite amount of USD greater than 0 (at least 0.01)",
        )
        _require_role("role", role)
        require(
            isinstance(additional_roles, (list, tuple)),
            "additional_roles",
            additional_roles,
            "a list of roles, e.g. [jobs_role] (BraketJobsExecutionRole or anything with role_name and role_arn)",
        )
        for extra in additional_roles:
            _require_role("additional_roles", extra)
        require(
            not isinstance(alert_emails, str),
            "alert_emails",
            alert_emails,
            "a list of email addresses, e.g. ['team@example.com'], not one string",
        )
        emails = list(alert_emails or [])
        for email in emails:
            require(
                isinstance(email, str) and bool(_EMAIL.match(email)),
                "alert_emails",
                email,
                "email addresses like 'team@example.com'",
            )
        thresholds = list(actual_thresholds or [])
        percents = f"whole percents of the limit from {_THRESHOLD_RANGE[0]} to {_THRESHOLD_RANGE[1]}"
        for threshold in thresholds:
            require(_is_percent(threshold), "actual_thresholds", threshold, percents)
        require(_is_percent(forecast_threshold), "forecast_threshold", forecast_threshold, percents)
        require(
            len(set(thresholds)) == len(thresholds),
            "actual_thresholds",
            thresholds,
            "unique percents (one notification each)",
        )
        require(
            len(thresholds) + 1 <= _MAX_NOTIFICATIONS,
            "actual_thresholds",
            thresholds,
            f"at most {_MAX_NOTIFICATIONS - 1} thresholds (AWS Budgets allows {_MAX_NOTIFICATIONS} notifications "
            "per budget, one of them the forecast)",
        )

        require_bool("kill_switch", kill_switch)
        self._budget_name = budget_name
        partition = DataAwsPartition(self, "Partition").partition
        account = DataAwsCallerIdentity(self, "Account").account_id
        region = DataAwsRegion(self, "Region").region
        self._partition, self._account = partition, account
        # The topic's ARN, written out: the key policy cannot reference the topic, which references the key.
        self._topic_arn = f"arn:{partition}:sns:{region}:{account}:{budget_name}"
        self._kill_switch_roles: list[RoleLike] = [role]
        self._publishers: dict[str, str] = {}
        # Confused-deputy protection: a service principal acts for every AWS account,
        # so each grant to one is limited to requests made on behalf of this account
        # (and, for Budgets, from this account's budgets).
        self._from_this_account = DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable="aws:SourceAccount", values=[account]
        )
        self._from_this_accounts_budgets = DataAwsIamPolicyDocumentStatementCondition(
            test="ArnLike", variable="aws:SourceArn", values=[f"arn:{partition}:budgets::{account}:budget/*"]
        )

        self.kms_key = KmsKey(
            self,
            "Key",
            description=f"Encrypts the Amazon Braket budget alerts of {budget_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=self._key_policy(partition, account).json,
        )
        self.topic = SnsTopic(self, "Topic", name=budget_name, kms_master_key_id=self.kms_key.arn)
        topic_policy = SnsTopicPolicy(self, "TopicPolicy", arn=self.topic.arn, policy=self._topic_policy().json)
        self.topic_policy = topic_policy  # the SnsTopicPolicy resource, for depends_on
        # Construct ids from the address, not the position, so reordering the list
        # never replaces (and un-confirms) a subscription. Addresses are deduplicated
        # case-insensitively.
        unique = {}
        for email in emails:
            unique.setdefault(email.lower(), email)
        for key, email in unique.items():
            SnsTopicSubscription(
                self,
                f"Email{hashlib.sha256(key.encode()).hexdigest()[:12]}",
                topic_arn=self.topic.arn,
                protocol="email",
                endpoint=email,
            )

        notify = [self.topic.arn]
        self.budget = BudgetsBudget(
            self,
            "Budget",
            name=budget_name,
            budget_type="COST",
            limit_amount=f"{monthly_limit_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filter=[BudgetsBudgetCostFilter(name="Service", values=[BRAKET_COST_SERVICE])],
            notification=[
                *(_notification("ACTUAL", threshold, notify) for threshold in sorted(thresholds)),
                _notification("FORECASTED", forecast_threshold, notify),
            ],
            # Budgets may publish to the topic before its first alert can be sent.
            depends_on=[topic_policy],
        )

        self.deny_policy: Optional[IamPolicy] = None
        self.action: Optional[BudgetsBudgetAction] = None
        if kill_switch:
            self._add_kill_switch()
        for extra in additional_roles:
            self.add_kill_switch_role(extra)
        apply_provider(self, provider)

    # -- attributes ---------------------------------------------------------
    @property
    def budget_name(self) -> str:
        """The budget's name (a Terraform reference)."""
        return self.budget.name

    @property
    def literal_budget_name(self) -> str:
        """The budget name as given (a plain string, never a Terraform reference)."""
        return self._budget_name

    @property
    def topic_arn(self) -> str:
        """ARN of the SNS topic the alerts go to (subscribe more endpoints to it)."""
        return self.topic.arn

    @property
    def kms_key_arn(self) -> str:
        """ARN of the key that encrypts the alerts topic."""
        return self.kms_key.arn

    @property
    def deny_policy_arn(self) -> Optional[str]:
        """ARN of the policy the kill switch attaches, or None without the kill switch."""
        return self.deny_policy.arn if self.deny_policy else None

    @property
    def kill_switch_roles(self) -> tuple[RoleLike, ...]:
        """The roles whose Braket spend the kill switch stops: ``role``, then each role added."""
        return tuple(self._kill_switch_roles)

    # -- composition --------------------------------------------------------
    def add_kill_switch_role(self, role: RoleLike) -> bool:
        """Let the kill switch stop ``role``'s Braket spend too: the budget action attaches the
        deny policy to it, and the action's role may attach and detach that policy on it.

        Adding a role twice changes nothing; returns whether it was added. Without the kill switch
        the role is only recorded.
        """
        _require_role("role", role)
        if any(existing is role for existing in self._kill_switch_roles):
            return False
        self._kill_switch_roles.append(role)
        if self.action is not None:
            self._attach_policy.replace(self._attach_statement())
            self.action.put_definition(iam_action_definition=self._iam_action_definition())
        return True

    def grant_publish(self, service_principal: str, source_arn: str, *, sid: str) -> bool:
        """Let the AWS service ``service_principal`` publish to the alerts topic for ``source_arn`` only.

        - The topic policy gains ``<sid>Publishes``: ``SNS:Publish`` for that service, with
          ``aws:SourceArn`` = ``source_arn`` and ``aws:SourceAccount`` = this account; for
          EventBridge without them: its user guide ("Using resource-based policies", Amazon SNS
          permissions) says "You can't use Condition blocks in Amazon SNS topic policies for
          EventBridge", and a delivery that a condition refuses fails silently.
        - The topic is encrypted, so the key policy gains ``<sid>EncryptsForTheTopic``:
          ``kms:GenerateDataKey*`` and ``kms:Decrypt`` for that service, only with the encryption
          context SNS binds to this topic (``kms:EncryptionContext:aws:sns:topicArn``), and, except
          for EventBridge, with the same source conditions. The SNS Developer Guide ("Key
          management") says ``aws:SourceAccount``/``aws:SourceArn`` in a key policy are not
          supported for EventBridge-to-encrypted topics: a delivery would fail.

        :param sid: names the grant: letters and digits, unique in this budget, e.g. the
            construct path of the rule. Granting a ``sid`` again for the same service changes
            nothing (returns False); for another service it is refused.
        """
        require(
            isinstance(service_principal, str) and bool(_SERVICE_PRINCIPAL.match(service_principal)),
            "service_principal",
            service_principal,
            "an AWS service principal such as 'events.amazonaws.com'",
        )
        require(isinstance(source_arn, str) and bool(source_arn), "source_arn", source_arn, "the ARN of what publishes")
        require(isinstance(sid, str) and bool(_SID.match(sid)), "sid", sid, "1-100 letters and digits, e.g. 'StateChangeAlerts'")
        if sid in self._publishers:
            require(
                self._publishers[sid] == service_principal,
                "sid",
                sid,
                f"a name not used by another grant (it grants {self._publishers[sid]})",
            )
            return False
        self._publishers[sid] = service_principal
        source = [
            self._from_this_account,
            DataAwsIamPolicyDocumentStatementCondition(test="ArnEquals", variable="aws:SourceArn", values=[source_arn]),
        ]
        self._topic_statements.add(
            DataAwsIamPolicyDocumentStatement(
                sid=f"{sid}Publishes",
                actions=["SNS:Publish"],
                resources=[self.topic.arn],
                principals=[_service(service_principal)],
                condition=[] if service_principal == EVENTS_SERVICE else source,
            )
        )
        for_this_topic = DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable="kms:EncryptionContext:aws:sns:topicArn", values=[self._topic_arn]
        )
        self._key_statements.add(
            DataAwsIamPolicyDocumentStatement(
                sid=f"{sid}EncryptsForTheTopic",
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy, "*" is this key
                principals=[_service(service_principal)],
                condition=[for_this_topic] if service_principal == EVENTS_SERVICE else [for_this_topic, *source],
            )
        )
        return True

    # -- internals ----------------------------------------------------------
    def _add_kill_switch(self) -> None:
        deny = DataAwsIamPolicyDocument(
            self,
            "DenyBraketSpendDocument",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="DenyNewBraketSpend", effect="Deny", actions=KILL_SWITCH_ACTIONS, resources=["*"]
                )
            ],
        )
        self.deny_policy = IamPolicy(
            self,
            "DenyBraketSpend",
            name=f"{self._budget_name}-deny-braket-spend",
            description=f"Attached by the {self._budget_name} budget action when Braket spend passes the limit",
            policy=deny.json,
        )
        self._deny_policy_arn = self.deny_policy.arn

        trust = DataAwsIamPolicyDocument(
            self,
            "ActionTrust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["sts:AssumeRole"],
                    principals=[_service(BUDGETS_SERVICE)],
                    condition=[self._from_this_account, self._from_this_accounts_budgets],
                )
            ],
        )
        self.action_role = IamRole(
            self,
            "ActionRole",
            name=bounded_name(f"{self._budget_name}-budget-action", _IAM_ROLE_NAME_LIMIT),
            path="/service-role/",
            assume_role_policy=trust.json,
            description=f"Lets AWS Budgets attach and detach the {self._budget_name} Braket deny policy",
        )
        # Budgets can attach this one policy to these roles, and nothing else.
        self._attach_policy = PolicyStatements(self, "ActionPolicyDocument", [self._attach_statement()])
        action_policy = IamRolePolicy(
            self, "ActionPolicy", name="attach-braket-deny-policy", role=self.action_role.name, policy=self._attach_policy.json
        )

        self.action = BudgetsBudgetAction(
            self,
            "KillSwitch",
            budget_name=self.budget.name,
            action_type="APPLY_IAM_POLICY",
            approval_model="AUTOMATIC",
            notification_type="ACTUAL",
            action_threshold=BudgetsBudgetActionActionThreshold(
                action_threshold_type="PERCENTAGE", action_threshold_value=100
            ),
            definition=BudgetsBudgetActionDefinition(iam_action_definition=self._iam_action_definition()),
            execution_role_arn=self.action_role.arn,
            subscriber=[BudgetsBudgetActionSubscriber(subscription_type="SNS", address=self.topic.arn)],
            # The role's permissions must exist before Budgets validates the action.
            depends_on=[action_policy],
        )

    def _attach_statement(self) -> DataAwsIamPolicyDocumentStatement:
        return DataAwsIamPolicyDocumentStatement(
            sid="AttachOnlyTheDenyPolicyToTheRole",
            actions=["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            resources=[r.role_arn for r in self._kill_switch_roles],
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(
                    test="ArnEquals", variable="iam:PolicyARN", values=[self._deny_policy_arn]
                )
            ],
        )

    def _iam_action_definition(self) -> BudgetsBudgetActionDefinitionIamActionDefinition:
        return BudgetsBudgetActionDefinitionIamActionDefinition(
            policy_arn=self._deny_policy_arn, roles=[r.role_name for r in self._kill_switch_roles]
        )

    def _key_policy(self, partition: str, account: str) -> DataAwsIamPolicyDocument:
        # Budgets encrypts what it publishes to the topic; SNS decrypts it to deliver.
        self._key_statements = PolicyStatements(
            self,
            "KeyPolicy",
            key_policy_statements(
                partition,
                account,
                sid="BudgetsAndSnsUseTheKey",
                principals=_service(BUDGETS_SERVICE, SNS_SERVICE),
                conditions=[self._from_this_account],
            ),
        )
        return self._key_statements.document

    def _topic_policy(self) -> DataAwsIamPolicyDocument:
        self._topic_statements = PolicyStatements(
            self,
            "TopicPolicyDocument",
            [
                DataAwsIamPolicyDocumentStatement(
                    sid="BudgetsPublishes",
                    actions=["SNS:Publish"],
                    resources=[self.topic.arn],
                    principals=[_service(BUDGETS_SERVICE)],
                    condition=[self._from_this_account, self._from_this_accounts_budgets],
                )
            ],
        )
        return self._topic_statements.document


def _notification(kind: str, threshold: int, topic_arns: list[str]) -> BudgetsBudgetNotification:
    return BudgetsBudgetNotification(
        comparison_operator="GREATER_THAN",
        notification_type=kind,
        threshold=threshold,
        threshold_type="PERCENTAGE",
        subscriber_sns_topic_arns=topic_arns,
    )


def _require_role(prop: str, role: object) -> None:
    require(
        all(hasattr(role, attribute) for attribute in ("role_name", "role_arn")),
        prop,
        role,
        "a BraketNotebookRole, a BraketJobsExecutionRole or another object with role_name and role_arn",
    )


def _service(*principals: str) -> DataAwsIamPolicyDocumentStatementPrincipals:
    return DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=list(principals))


def _is_percent(value: object) -> bool:
    low, high = _THRESHOLD_RANGE
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
