"""QuantumPackageMirror: a CodeArtifact PyPI mirror for notebooks without internet access."""

from __future__ import annotations

import re
from typing import Optional

from .cdk import TerraformProvider
from .aws.codeartifact_domain import CodeartifactDomain
from .aws.codeartifact_repository import (
    CodeartifactRepository,
    CodeartifactRepositoryExternalConnections,
)
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from constructs import Construct

from ._scope import apply_provider, check_provider, path_sid
from ._validation import require
from .bucket import Grantable
from .private_apis import PACKAGE_MIRROR_API_CALLS, endpoints_for

# CodeArtifact API Reference, CreateDomain (domain) and CreateRepository (repository): the patterns
# and lengths (2-50 and 2-100) the service accepts.
_DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$")
_REPOSITORY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$")
# CodeArtifact User Guide, "Connect a CodeArtifact repository to a public repository": the Python
# Package Index's external connection.
PYPI_EXTERNAL_CONNECTION = "public:pypi"
CODEARTIFACT_SERVICE = "codeartifact.amazonaws.com"


class QuantumPackageMirror(Construct):
    """A CodeArtifact domain and a PyPI repository, so a notebook without internet installs packages.

    - One domain (``domain_name``) and one repository (``repository_name``) in it with an
      external connection to public PyPI (``public:pypi``): a package not yet in the repository
      is fetched from PyPI by CodeArtifact, never by the notebook.
    - The domain is encrypted with the AWS managed key (``aws/codeartifact``), not a
      customer-managed one: it holds public PyPI packages only, so a key of our own would add a
      key policy for every reader and a monthly cost, and protect nothing confidential. Do not
      publish private packages to it (give them a domain with a customer-managed key).
    - No resource policy: who may read is decided by grants on the readers' roles
      (``grant_read``).

    Reaching it from a VPC without internet takes the interface endpoints ``INTERFACE_ENDPOINTS``
    (``com.amazonaws.<region>.codeartifact.api`` for the token and the endpoint, and
    ``...codeartifact.repositories`` for pip; both with private DNS: CodeArtifact User Guide,
    "Create VPC endpoints for CodeArtifact"). pip needs no S3 access ("Create the Amazon S3
    gateway endpoint": "An Amazon S3 endpoint is not needed when using Python or Swift package
    formats"). The endpoints are regional: the mirror must be in the notebook's region.

    Attributes: ``domain_name``, ``repository_name`` (plain strings), ``domain_arn``,
    ``repository_arn`` (Terraform references); the resources ``domain``
    (``CodeartifactDomain``) and ``repository`` (``CodeartifactRepository``).
    Grant: ``grant_read(role)``.

    :param domain_name: the CodeArtifact domain: 2-50 lowercase letters, digits and '-',
        starting with a letter and ending with a letter or digit; unique per account and region
        and part of DNS names, so no sensitive information (required).
    :param repository_name: the repository with the PyPI connection: 2-100 letters, digits,
        '.', '-' and '_', starting with a letter or digit. Default ``pypi``.
    :param provider: the AWS provider of both resources (the notebook's region). Default: the
        stack's default provider.
    """

    INTERFACE_ENDPOINTS: tuple[str, ...] = endpoints_for(PACKAGE_MIRROR_API_CALLS)
    """The VPC interface endpoints (``com.amazonaws.<region>.<name>``) a private network needs for the mirror."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        repository_name: str = "pypi",
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        require(
            isinstance(domain_name, str) and bool(_DOMAIN_NAME.match(domain_name)),
            "domain_name",
            domain_name,
            "a CodeArtifact domain name: 2-50 lowercase letters, digits and '-', starting with a letter "
            "and ending with a letter or digit, e.g. 'quantum-packages'",
        )
        require(
            isinstance(repository_name, str) and bool(_REPOSITORY_NAME.match(repository_name)),
            "repository_name",
            repository_name,
            "a CodeArtifact repository name: 2-100 letters, digits, '.', '-' and '_', starting with a "
            "letter or digit, e.g. 'pypi'",
        )
        self._domain_name = domain_name
        self._repository_name = repository_name
        self.domain = CodeartifactDomain(self, "Domain", domain=domain_name)  # AWS managed key: see above
        self.repository = CodeartifactRepository(
            self,
            "Repository",
            domain=self.domain.domain,  # a reference: Terraform creates the domain first
            repository=repository_name,
            description="Public PyPI through CodeArtifact, for Braket notebooks without internet access",
            external_connections=CodeartifactRepositoryExternalConnections(
                external_connection_name=PYPI_EXTERNAL_CONNECTION
            ),
        )
        # One token each, so statements granted twice compare equal.
        self._domain_arn = self.domain.arn
        self._repository_arn = self.repository.arn
        apply_provider(self, provider)

    def __repr__(self) -> str:
        return f"QuantumPackageMirror(domain_name={self._domain_name!r}, repository_name={self._repository_name!r})"

    # -- attributes ---------------------------------------------------------
    @property
    def domain_name(self) -> str:
        """The domain's name as given (a plain string, never a Terraform reference)."""
        return self._domain_name

    @property
    def repository_name(self) -> str:
        """The repository's name as given (a plain string, never a Terraform reference)."""
        return self._repository_name

    @property
    def domain_arn(self) -> str:
        """The domain's ARN (a Terraform reference)."""
        return self._domain_arn

    @property
    def repository_arn(self) -> str:
        """The repository's ARN (a Terraform reference)."""
        return self._repository_arn

    # -- grants -------------------------------------------------------------
    def grant_read(self, role: Grantable) -> bool:
        """Let ``role`` install packages from the repository with pip, and nothing more.

        Appends to ``role``'s one policy: ``codeartifact:GetAuthorizationToken`` on this domain;
        ``codeartifact:GetRepositoryEndpoint`` and ``codeartifact:ReadFromRepository`` on this
        repository; ``sts:GetServiceBearerToken`` only for CodeArtifact (the token
        GetAuthorizationToken returns is a service bearer token). Nothing to publish, delete or
        administer. Granting twice changes nothing; returns whether anything was added.
        """
        require(
            callable(getattr(role, "add_to_policy", None)),
            "role",
            role,
            "a BraketNotebookRole, an ExistingNotebookRole or another role with add_to_policy(statement)",
        )
        sid = path_sid(self)
        token = role.add_to_policy(
            DataAwsIamPolicyDocumentStatement(
                sid=f"{sid}AuthorizationToken",
                actions=["codeartifact:GetAuthorizationToken"],
                resources=[self._domain_arn],
            )
        )
        read = role.add_to_policy(
            DataAwsIamPolicyDocumentStatement(
                sid=f"{sid}Read",
                actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                resources=[self._repository_arn],
            )
        )
        # CodeArtifact User Guide, "Provision an IAM user" (and the AWS managed policy
        # AWSCodeArtifactReadOnlyAccess): "The sts:GetServiceBearerToken permission is required to
        # call the CodeArtifact GetAuthorizationToken API", granted on "*" with StringEquals
        # sts:AWSServiceName = codeartifact.amazonaws.com; the IAM User Guide, "Service bearer
        # tokens", names CodeArtifact as the service that uses them. The action has no resource type.
        bearer = role.add_to_policy(
            DataAwsIamPolicyDocumentStatement(
                sid=f"{sid}BearerToken",
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="sts:AWSServiceName", values=[CODEARTIFACT_SERVICE]
                    )
                ],
            )
        )
        return token or read or bearer


__all__ = ["QuantumPackageMirror", "PYPI_EXTERNAL_CONNECTION"]
