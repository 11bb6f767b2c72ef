"""QuantumPackageMirror (a CodeArtifact PyPI mirror) and a notebook installing from it.

What AWS accepts and requires is cited from its documentation:
- names: CodeArtifact API Reference, CreateDomain (``[a-z][a-z0-9\\-]{0,48}[a-z0-9]``, 2-50) and
  CreateRepository (``[A-Za-z0-9][A-Za-z0-9._\\-]{1,99}``, 2-100);
- the external connection ``public:pypi``: CodeArtifact User Guide, "Connect a CodeArtifact
  repository to a public repository" (supported external connection repositories);
- the reader's permissions: CodeArtifact User Guide, "Provision an IAM user" ("The
  sts:GetServiceBearerToken permission is required to call the CodeArtifact GetAuthorizationToken
  API", with ``sts:AWSServiceName`` = ``codeartifact.amazonaws.com``); resource ARNs: "Overview of
  managing access permissions" (``domain/<domain>``, ``repository/<domain>/<repository>``);
- the endpoints: "Create VPC endpoints for CodeArtifact" (``codeartifact.api`` and
  ``codeartifact.repositories``).
"""

import base64
import json
import re

from quantum_constructs import cdk as cdktf
import pytest
from quantum_constructs.cdk import App, TerraformStack
from quantum_constructs.aws.codeartifact_domain import CodeartifactDomain
from quantum_constructs.aws.codeartifact_repository import CodeartifactRepository
from quantum_constructs.aws.provider import AwsProvider

from quantum_constructs import (
    BraketNotebookRole,
    QuantumDevNotebook,
    QuantumPackageMirror,
    QuantumResultsBucket,
)
from tests.synth_helpers import data_sources, only, resources

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DOMAIN = "quantum-packages"


def _stack(region: str = "us-east-1") -> TerraformStack:
    stack = TerraformStack(App(), "test")
    AwsProvider(stack, "aws", region=region)
    return stack


def _notebook(stack, id="Notebook", *, role=None, **props):
    bucket = QuantumResultsBucket(stack, f"{id}Results", bucket_name=f"amazon-braket-{id.lower()}-results")
    role = role or BraketNotebookRole(stack, f"{id}Role", allowed_device_arns=[SV1])
    return QuantumDevNotebook(stack, id, notebook_name=f"amazon-braket-{id.lower()}", role=role, results_bucket=bucket, **props)


class Built:
    """One stack for the module: a mirror, a notebook installing from it, and a second role granted twice."""

    def __init__(self) -> None:
        self.stack = _stack()
        self.mirror = QuantumPackageMirror(self.stack, "PackageMirror", domain_name=DOMAIN)
        self.notebook = _notebook(self.stack, package_mirror=self.mirror)
        self.other_role = BraketNotebookRole(self.stack, "OtherRole", allowed_device_arns=[SV1])
        self.first_grant = self.mirror.grant_read(self.other_role)
        self.second_grant = self.mirror.grant_read(self.other_role)
        # The notebook granted its own role already: granting again adds nothing.
        self.notebook_role_again = self.mirror.grant_read(self.notebook_role)
        self.text = cdktf.Testing.synth(self.stack)
        self.doc = json.loads(self.text)

    @property
    def notebook_role(self) -> BraketNotebookRole:
        return self.stack.node.find_child("NotebookRole")

    def role_statements(self, role_id: str) -> dict[str, dict]:
        return role_statements(self.doc, role_id)


def role_statements(doc: dict, role_id: str) -> dict[str, dict]:
    """The statements of the one inline policy of the role with construct id ``role_id``, by Sid (unique)."""
    [policy] = [p for n, p in resources(doc, "aws_iam_role_policy").items() if n.startswith(f"{role_id}_")]
    document = data_sources(doc, "aws_iam_policy_document")[policy["policy"].split(".")[2]]
    sids = [s["sid"] for s in document["statement"]]
    assert len(sids) == len(set(sids)), sids
    return {s["sid"]: s for s in document["statement"]}


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def _ref(doc, type_, attribute):
    [name] = resources(doc, type_)
    return "${" + f"{type_}.{name}.{attribute}" + "}"


# -- resources -------------------------------------------------------------------------------------


def test_a_domain_with_the_aws_managed_key(built):
    assert cdktf.Testing.to_have_resource_with_properties(built.text, CodeartifactDomain.TF_RESOURCE_TYPE, {"domain": DOMAIN})
    # No encryption_key: the AWS managed key (the mirror holds public PyPI packages only).
    assert "encryption_key" not in only(resources(built.doc, "aws_codeartifact_domain"))


def test_a_pypi_repository_connected_to_public_pypi_in_that_domain(built):
    assert cdktf.Testing.to_have_resource_with_properties(
        built.text,
        CodeartifactRepository.TF_RESOURCE_TYPE,
        {
            "repository": "pypi",
            "domain": _ref(built.doc, "aws_codeartifact_domain", "domain"),  # created after the domain
            "external_connections": {"external_connection_name": "public:pypi"},
        },
    )
    assert "upstream" not in only(resources(built.doc, "aws_codeartifact_repository"))
    assert "aws_codeartifact_domain_permissions_policy" not in built.doc["resource"]
    assert "aws_codeartifact_repository_permissions_policy" not in built.doc["resource"]


def test_attributes(built):
    mirror = built.mirror
    assert (mirror.domain_name, mirror.repository_name) == (DOMAIN, "pypi")
    assert mirror.domain_arn.startswith("${") and mirror.repository_arn.startswith("${")
    assert mirror.domain_arn == mirror.domain_arn  # one token: statements granted twice compare equal
    assert isinstance(mirror.domain, CodeartifactDomain) and isinstance(mirror.repository, CodeartifactRepository)
    assert QuantumPackageMirror.INTERFACE_ENDPOINTS == ("codeartifact.api", "codeartifact.repositories")
    assert repr(mirror) == "QuantumPackageMirror(domain_name='quantum-packages', repository_name='pypi')"


# -- grant_read ------------------------------------------------------------------------------------


def _expected_read_statements(doc) -> dict[str, dict]:
    return {
        "PackageMirrorAuthorizationToken": {
            "sid": "PackageMirrorAuthorizationToken",
            "actions": ["codeartifact:GetAuthorizationToken"],
            "resources": [_ref(doc, "aws_codeartifact_domain", "arn")],
        },
        "PackageMirrorRead": {
            "sid": "PackageMirrorRead",
            "actions": ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
            "resources": [_ref(doc, "aws_codeartifact_repository", "arn")],
        },
        "PackageMirrorBearerToken": {
            "sid": "PackageMirrorBearerToken",
            "actions": ["sts:GetServiceBearerToken"],
            "resources": ["*"],
            "condition": [
                {"test": "StringEquals", "variable": "sts:AWSServiceName", "values": ["codeartifact.amazonaws.com"]}
            ],
        },
    }


@pytest.mark.parametrize("role_id", ["NotebookRole", "OtherRole"])
def test_grant_read_appends_token_endpoint_read_and_bearer_token_to_the_roles_one_policy(built, role_id):
    statements = built.role_statements(role_id)
    for sid, expected in _expected_read_statements(built.doc).items():
        assert statements[sid] == expected
    mirror_sids = {sid for sid in statements if sid.startswith("PackageMirror")}
    assert mirror_sids == set(_expected_read_statements(built.doc))
    # Reading only: nothing to publish, delete or administer.
    actions = {a for s in statements.values() for a in s.get("actions", []) if a.startswith("codeartifact:")}
    assert actions == {"codeartifact:GetAuthorizationToken", "codeartifact:GetRepositoryEndpoint",
                       "codeartifact:ReadFromRepository"}


def test_granting_twice_changes_nothing(built):
    assert built.first_grant is True
    assert built.second_grant is False
    assert built.notebook_role_again is False


def test_two_mirrors_granted_to_one_role_do_not_clash():
    stack = _stack()
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1])
    first = QuantumPackageMirror(stack, "TeamA", domain_name="team-a")
    second = QuantumPackageMirror(stack, "TeamB", domain_name="team-b", repository_name="pypi-store")
    assert first.grant_read(role) and second.grant_read(role)
    statements = role_statements(json.loads(cdktf.Testing.synth(stack)), "Role")
    assert {"TeamAAuthorizationToken", "TeamARead", "TeamABearerToken", "TeamBAuthorizationToken", "TeamBRead",
            "TeamBBearerToken"} <= set(statements)
    assert statements["TeamBRead"]["resources"] != statements["TeamARead"]["resources"]


def test_grant_read_refuses_what_is_not_a_role():
    stack = _stack()
    mirror = QuantumPackageMirror(stack, "Mirror", domain_name=DOMAIN)
    with pytest.raises(ValueError, match=r"^role='arn:aws:iam::123456789012:role/x' is not allowed: expected .*add_to_policy"):
        mirror.grant_read("arn:aws:iam::123456789012:role/x")


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "a1", "quantum-packages", "a" * 50, "a-0"])
def test_domain_names_codeartifact_accepts(name):
    assert QuantumPackageMirror(_stack(), "Mirror", domain_name=name).domain_name == name


@pytest.mark.parametrize(
    "name",
    ["a", "a" * 51, "1abc", "-abc", "abc-", "Quantum", "quantum_packages", "quantum.packages", "", "${var.d}", 5, None],
)
def test_domain_names_codeartifact_refuses(name):
    with pytest.raises(ValueError, match=r"^domain_name=.* is not allowed: expected a CodeArtifact domain name: 2-50"):
        QuantumPackageMirror(_stack(), "Mirror", domain_name=name)


@pytest.mark.parametrize("name", ["py", "pypi", "PyPI.store_2-x", "0pypi", "x" * 100])
def test_repository_names_codeartifact_accepts(name):
    assert QuantumPackageMirror(_stack(), "Mirror", domain_name=DOMAIN, repository_name=name).repository_name == name


@pytest.mark.parametrize("name", ["p", "x" * 101, ".pypi", "-pypi", "_pypi", "py pi", "py/pi", "py$pi", "", 7])
def test_repository_names_codeartifact_refuses(name):
    with pytest.raises(ValueError, match=r"^repository_name=.* is not allowed: expected a CodeArtifact repository name: 2-100"):
        QuantumPackageMirror(_stack(), "Mirror", domain_name=DOMAIN, repository_name=name)


def test_provider_must_be_a_provider():
    with pytest.raises(ValueError, match=r"^provider='eu' is not allowed"):
        QuantumPackageMirror(_stack(), "Mirror", domain_name=DOMAIN, provider="eu")


def test_the_provider_applies_to_both_resources():
    stack = _stack()
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    QuantumPackageMirror(stack, "Mirror", domain_name=DOMAIN, provider=eu)
    doc = json.loads(cdktf.Testing.synth(stack))
    assert only(resources(doc, "aws_codeartifact_domain"))["provider"] == "aws.eu"
    assert only(resources(doc, "aws_codeartifact_repository"))["provider"] == "aws.eu"


# -- the notebook with a mirror --------------------------------------------------------------------


def _on_create(doc) -> str:
    lifecycle = only(resources(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration"))
    return base64.b64decode(lifecycle["on_create"]).decode()


def test_the_notebooks_on_create_script_names_the_mirror_literally(built):
    script = _on_create(built.doc)
    assert 'MIRROR_DOMAIN="quantum-packages"' in script
    assert 'MIRROR_REPOSITORY="pypi"' in script
    assert 'PACKAGE_INDEX=""' in script
    assert not re.search(r"__[A-Z0-9_]+__", script)  # no placeholder left
    assert "${" not in script  # never a Terraform reference in the script


def test_without_a_mirror_the_script_has_no_mirror():
    stack = _stack()
    _notebook(stack)
    script = _on_create(json.loads(cdktf.Testing.synth(stack)))
    assert 'MIRROR_DOMAIN=""' in script and 'MIRROR_REPOSITORY=""' in script
    assert 'BRAKET_SDK_VERSION="1.127.5"' in script


def test_a_mirror_and_an_index_url_are_one_source_too_many():
    stack = _stack()
    mirror = QuantumPackageMirror(stack, "Mirror", domain_name=DOMAIN)
    with pytest.raises(ValueError) as raised:
        _notebook(stack, package_mirror=mirror, pip_index_url="https://pypi.internal.example/simple")
    message = str(raised.value)
    assert message.startswith("package_mirror=QuantumPackageMirror(domain_name='quantum-packages'")
    assert "pip_index_url='https://pypi.internal.example/simple'" in message and "not both" in message


def test_the_mirror_is_the_construct_not_a_name():
    with pytest.raises(ValueError, match=r"^package_mirror='quantum-packages' is not allowed: expected None or a QuantumPackageMirror"):
        _notebook(_stack(), package_mirror="quantum-packages")


def test_a_mirror_in_another_region_is_refused():
    stack = _stack("us-east-1")
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    mirror = QuantumPackageMirror(stack, "Mirror", domain_name=DOMAIN, provider=eu)
    with pytest.raises(ValueError, match=r"^package_mirror=.* expected a QuantumPackageMirror in the notebook's region \(us-east-1\), not in eu-west-2"):
        _notebook(stack, package_mirror=mirror)


def test_a_mirror_with_another_provider_of_the_same_region_is_accepted():
    stack = _stack("eu-west-2")
    same = AwsProvider(stack, "same", region="eu-west-2", alias="same")
    mirror = QuantumPackageMirror(stack, "Mirror", domain_name=DOMAIN, provider=same)
    _notebook(stack, package_mirror=mirror)  # no error
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    _notebook(stack, "Aliased", package_mirror=QuantumPackageMirror(stack, "EuMirror", domain_name="eu-packages", provider=eu), provider=eu)


def test_a_mirror_is_granted_even_without_an_sdk_install():
    # Researchers may still `aws codeartifact login --tool pip` from the notebook.
    stack = _stack()
    mirror = QuantumPackageMirror(stack, "Mirror", domain_name=DOMAIN)
    _notebook(stack, package_mirror=mirror, braket_sdk_version=None)
    doc = json.loads(cdktf.Testing.synth(stack))
    assert {"MirrorAuthorizationToken", "MirrorRead", "MirrorBearerToken"} <= set(role_statements(doc, "NotebookRole"))
    assert 'BRAKET_SDK_VERSION=""' in _on_create(doc)
