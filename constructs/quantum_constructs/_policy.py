"""One policy document that grants append to: what every role, key and topic of the library shares."""

from __future__ import annotations

from typing import Iterable

from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct

from ._validation import require


class PolicyStatements:
    """A ``DataAwsIamPolicyDocument`` and the statements it holds, so grants can append to it.

    Model: aws-cdk's ``PolicyDocument`` behind ``Role.addToPrincipalPolicy``. A statement is
    identified by its Sid: adding one that is already there changes nothing, and adding a different
    statement under a Sid in use is refused (IAM needs unique Sids, and two grants must never
    silently replace each other).
    """

    def __init__(self, scope: Construct, id: str, statements: Iterable[DataAwsIamPolicyDocumentStatement]) -> None:
        self._statements = list(statements)
        self.document = DataAwsIamPolicyDocument(scope, id, statement=self._statements)

    @property
    def json(self) -> str:
        """The document as JSON (a Terraform reference)."""
        return self.document.json

    @property
    def sids(self) -> tuple[str, ...]:
        return tuple(s.sid for s in self._statements if s.sid)

    def add(self, statement: DataAwsIamPolicyDocumentStatement) -> bool:
        """Append ``statement`` (it must have a ``sid``); False if it was there already."""
        require(
            isinstance(statement, DataAwsIamPolicyDocumentStatement) and bool(statement.sid),
            "statement",
            statement,
            "a DataAwsIamPolicyDocumentStatement with a sid",
        )
        for existing in self._statements:
            if existing.sid == statement.sid:
                require(existing == statement, "statement.sid", statement.sid, "a Sid not used by another statement")
                return False
        self._statements.append(statement)
        self.document.put_statement(self._statements)
        return True

    def replace(self, statement: DataAwsIamPolicyDocumentStatement) -> None:
        """Put ``statement`` in place of the statement with its Sid (which must exist)."""
        index = next((i for i, s in enumerate(self._statements) if s.sid == statement.sid), None)
        require(index is not None, "statement.sid", statement.sid, f"one of {list(self.sids)}")
        self._statements[index] = statement
        self.document.put_statement(self._statements)


def service_trust(scope: Construct, id: str, *, service: str, account: str, source_arn: str) -> DataAwsIamPolicyDocument:
    """A role's trust policy: ``service`` may assume it on behalf of ``account``'s resources matching
    ``source_arn`` only (IAM User Guide, "The confused deputy problem": aws:SourceAccount, aws:SourceArn)."""
    return DataAwsIamPolicyDocument(
        scope,
        id,
        statement=[
            DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[service])],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="aws:SourceAccount", values=[account]
                    ),
                    DataAwsIamPolicyDocumentStatementCondition(test="ArnLike", variable="aws:SourceArn", values=[source_arn]),
                ],
            )
        ],
    )
