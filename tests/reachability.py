"""Static reachability of a private stack: does every listed AWS call have a private path, and no
packet a path to the internet? Read from the synthesized Terraform JSON alone (no AWS, no plan).

``reachability_violations(doc)`` returns readable messages, empty when the stack is sound:

- The notebook (every ``aws_sagemaker_notebook_instance``): ``direct_internet_access`` "Disabled"
  (the provider's default is "Enabled"), in a subnet of the stack, with security groups; the
  subnet associated with a route table of the stack.
- For every endpoint a call in ``calls`` needs (``PRIVATE_API_CALLS``; and
  ``PACKAGE_MIRROR_API_CALLS`` when the stack has an ``aws_codeartifact_repository`` or the
  on-create script is rendered with a CodeArtifact domain), an ``aws_vpc_endpoint`` in the
  notebook's VPC with the service name ``com.amazonaws.<region>.<endpoint>``
  (``aws.sagemaker.<region>.notebook`` for the UI), where ``<region>`` is the stack's (a
  ``data.aws_region`` of the same provider, or the provider's literal region):
  - interface endpoints: private DNS enabled, in the notebook's subnet, behind a security group
    that admits TCP 443 from a notebook security group (``aws_vpc_security_group_ingress_rule``
    with ``referenced_security_group_id``), and a notebook security group that may send TCP 443
    to that group (``aws_vpc_security_group_egress_rule``);
  - S3: a Gateway endpoint on the notebook subnet's route table, and a notebook security group
    that may send TCP 443 to its ``prefix_list_id``;
  - a policy that is not full access: no policy at all is AWS's default full access, and so is
    a statement allowing Action "*" on Resource "*" to Principal "*" without a condition (the
    network's account-pinned statements carry an ``aws:PrincipalAccount`` condition);
  - a policy that lets every listed call through (``ApiCalls.actions``: an Allow statement whose
    actions match, no unconditional Deny). Conditions are not evaluated here: who may make the
    call is the access simulation's question (tests/access), whether it can pass at all is this one's.
- No path to the internet anywhere in the stack: no ``aws_internet_gateway`` (or its
  attachment), ``aws_nat_gateway``, ``aws_egress_only_internet_gateway``, ``aws_eip``; no route
  (``aws_route`` or an inline ``route`` of ``aws_route_table``/``aws_default_route_table``) to
  0.0.0.0/0 or ::/0, to an internet, NAT, egress-only or carrier gateway, or through a
  ``gateway_id`` that is not a virtual private gateway (the premises' VPN); no subnet with
  ``map_public_ip_on_launch``.
- The on-create script does not install from pip's default index (PyPI, on the internet): an
  install has a mirror or an index URL, or is skipped.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any, Optional

from quantum_constructs.network import NOTEBOOK_UI, S3, endpoint_service_name
from quantum_constructs.private_apis import PACKAGE_MIRROR_API_CALLS, PRIVATE_API_CALLS, ApiCalls
from security.iam_documents import to_iam_json

HTTPS = 443
INTERNET_RESOURCES = {
    "aws_internet_gateway": "an internet gateway",
    "aws_internet_gateway_attachment": "an internet gateway attachment",
    "aws_nat_gateway": "a NAT gateway",
    "aws_egress_only_internet_gateway": "an egress-only internet gateway",
    "aws_eip": "an Elastic IP (a public address)",
}
# Route targets that lead out of the VPC to the internet, whatever the destination.
INTERNET_TARGETS = {
    "nat_gateway_id": "a NAT gateway",
    "egress_only_gateway_id": "an egress-only internet gateway",
    "carrier_gateway_id": "a carrier gateway",
}
DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")
_REFERENCE = re.compile(r"^\$\{((?:data\.)?[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$")
_ASSIGNMENT = re.compile(r'^([A-Z_]+)="([^"]*)"', re.MULTILINE)


def reachability_violations(
    stack_doc: dict,
    calls: Sequence[ApiCalls] = PRIVATE_API_CALLS,
    mirror_calls: Sequence[ApiCalls] = PACKAGE_MIRROR_API_CALLS,
) -> list[str]:
    """What keeps a listed call from a private path, or opens a path to the internet (empty: none)."""
    stack = _Stack(stack_doc)
    violations = _internet_paths(stack)
    notebooks = stack.resources("aws_sagemaker_notebook_instance")
    if not notebooks:
        return [*violations, "no aws_sagemaker_notebook_instance: nothing to reach the APIs from"]
    for name, notebook in sorted(notebooks.items()):
        scripts = _lifecycle_scripts(stack, notebook)
        violations += _install_violations(name, scripts.get("on_create", ""))
        needed = list(calls)
        if stack.resources("aws_codeartifact_repository") or _assignments(scripts.get("on_create", "")).get(
            "MIRROR_DOMAIN"
        ):
            needed += mirror_calls
        violations += _notebook_violations(stack, name, notebook, needed)
    return violations


# -- the stack's JSON ---------------------------------------------------------------------------
class _Stack:
    def __init__(self, doc: dict) -> None:
        self.doc = doc

    def resources(self, type_: str) -> dict[str, dict]:
        return self.doc.get("resource", {}).get(type_, {})

    def data(self, type_: str) -> dict[str, dict]:
        return self.doc.get("data", {}).get(type_, {})

    @staticmethod
    def ref(value: Any) -> Optional[tuple[str, str, str]]:
        """(type, name, attribute) of a value that is one whole Terraform reference."""
        match = _REFERENCE.match(value) if isinstance(value, str) else None
        return match.groups() if match else None

    def target(self, value: Any, type_: str) -> Optional[str]:
        """The name of the ``type_`` resource ``value`` refers to (``${type_.NAME.id}``), if it does."""
        found = self.ref(value)
        return found[1] if found and found[0] == type_ and found[1] in self.resources(type_) else None

    def provider_region(self, provider: Optional[str]) -> Optional[str]:
        """The literal region of the AWS provider ``provider`` (``aws.ALIAS``; None: the default)."""
        alias = provider.split(".", 1)[1] if provider and "." in provider else None
        for block in self.doc.get("provider", {}).get("aws", []):
            if block.get("alias") == alias:
                return block.get("region")
        return None


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# -- no way out -----------------------------------------------------------------------------------
def _internet_paths(stack: _Stack) -> list[str]:
    violations = [
        f"{type_}.{name}: {what} gives the network a path to or from the internet"
        for type_, what in INTERNET_RESOURCES.items()
        for name in sorted(stack.resources(type_))
    ]
    for name, subnet in sorted(stack.resources("aws_subnet").items()):
        if _is_true(subnet.get("map_public_ip_on_launch")):
            violations.append(f"aws_subnet.{name}: map_public_ip_on_launch gives its instances public addresses")
    for name, route in sorted(stack.resources("aws_route").items()):
        violations += _route_violations(stack, f"aws_route.{name}", route, "destination_cidr_block",
                                        "destination_ipv6_cidr_block")
    for type_ in ("aws_route_table", "aws_default_route_table"):
        for name, table in sorted(stack.resources(type_).items()):
            for index, route in enumerate(_listed(table.get("route"))):
                violations += _route_violations(stack, f"{type_}.{name} route[{index}]", route, "cidr_block",
                                                "ipv6_cidr_block")
    return violations


def _route_violations(stack: _Stack, where: str, route: dict, ipv4_key: str, ipv6_key: str) -> list[str]:
    found = []
    destination = route.get(ipv4_key) or route.get(ipv6_key)
    if destination in DEFAULT_ROUTES:
        found.append(f"{where}: a default route ({destination}) sends everything not local out of the VPC")
    for key, what in INTERNET_TARGETS.items():
        if route.get(key):
            found.append(f"{where}: routes {destination} to {what} ({key}={route[key]})")
    gateway = route.get("gateway_id")
    if gateway and gateway != "local":
        if stack.target(gateway, "aws_internet_gateway") or str(gateway).startswith("igw-"):
            found.append(f"{where}: routes {destination} to an internet gateway ({gateway})")
        elif not (stack.target(gateway, "aws_vpn_gateway") or str(gateway).startswith("vgw-")):
            found.append(f"{where}: routes {destination} through gateway_id={gateway}, not a virtual private gateway")
    return found


# -- the notebook and its endpoints --------------------------------------------------------------
def _notebook_violations(stack: _Stack, name: str, notebook: dict, calls: Sequence[ApiCalls]) -> list[str]:
    where = f"aws_sagemaker_notebook_instance.{name}"
    violations = []
    access = notebook.get("direct_internet_access", "Enabled")
    if access != "Disabled":
        violations.append(f"{where}: direct_internet_access is {access!r}: SageMaker gives it a path to the internet")
    subnet = stack.target(notebook.get("subnet_id"), "aws_subnet")
    if subnet is None:
        return [*violations, f"{where}: not in a subnet of the stack (subnet_id={notebook.get('subnet_id')!r}): "
                             "it runs in SageMaker's network, with its internet"]
    vpc = stack.target(stack.resources("aws_subnet")[subnet].get("vpc_id"), "aws_vpc")
    if vpc is None:
        return [*violations, f"aws_subnet.{subnet}: not in a VPC of the stack"]
    groups = {g for g in (stack.target(v, "aws_security_group") for v in _listed(notebook.get("security_groups"))) if g}
    if not groups:
        violations.append(f"{where}: no security group of the stack (security_groups={notebook.get('security_groups')!r})")
    tables = [
        stack.target(a.get("route_table_id"), "aws_route_table")
        for a in stack.resources("aws_route_table_association").values()
        if stack.target(a.get("subnet_id"), "aws_subnet") == subnet
    ]
    route_table = next((t for t in tables if t), None)
    if route_table is None:
        violations.append(f"aws_subnet.{subnet}: associated with no route table of the stack (the VPC's main "
                          "route table is not the stack's to check)")
    context = _Notebook(where, subnet, vpc, groups, route_table, notebook.get("provider"))
    by_endpoint: dict[str, list[ApiCalls]] = {}
    for call in calls:
        by_endpoint.setdefault(call.endpoint, []).append(call)
    for endpoint, its_calls in by_endpoint.items():
        violations += _endpoint_violations(stack, context, endpoint, its_calls)
    return violations


class _Notebook:
    def __init__(self, where, subnet, vpc, groups, route_table, provider) -> None:
        self.where, self.subnet, self.vpc, self.groups = where, subnet, vpc, groups
        self.route_table, self.provider = route_table, provider


def _service_names(stack: _Stack, endpoint: str, provider: Optional[str]) -> set[str]:
    """What the service name of ``endpoint`` in the notebook's region may read as in the JSON."""
    regions = {
        "${" + f"data.aws_region.{name}.{attribute}" + "}"
        for name, block in stack.data("aws_region").items()
        if not {"region", "name", "id"} & set(block) and block.get("provider") == provider
        for attribute in ("region", "name")
    }
    literal = stack.provider_region(provider)
    if literal:
        regions.add(literal)
    return {endpoint_service_name(endpoint, region) for region in regions}


def _endpoint_violations(stack: _Stack, nb: _Notebook, endpoint: str, calls: list[ApiCalls]) -> list[str]:
    needs = "; ".join(f"{', '.join(c.operations) or 'its use'} by {c.caller}" for c in calls)
    names = _service_names(stack, endpoint, nb.provider)
    shown = endpoint_service_name(endpoint, "<region>")
    candidates = {
        name: body
        for name, body in sorted(stack.resources("aws_vpc_endpoint").items())
        if body.get("service_name") in names
        and stack.target(body.get("vpc_id"), "aws_vpc") == nb.vpc
        and body.get("provider") == nb.provider
    }
    if not candidates:
        return [f"no VPC endpoint {shown} ({endpoint}) in aws_vpc.{nb.vpc}, the VPC of {nb.where}: no private "
                f"path for {needs}"]
    problems: list[str] = []
    for name, body in candidates.items():
        found = _endpoint_problems(stack, nb, endpoint, name, body, calls)
        if not found:
            return []
        problems += found
    return problems


def _endpoint_problems(stack: _Stack, nb: _Notebook, endpoint: str, name: str, body: dict,
                       calls: list[ApiCalls]) -> list[str]:
    where = f"aws_vpc_endpoint.{name} ({endpoint})"
    kind = body.get("vpc_endpoint_type", "Gateway")
    problems = []
    if endpoint == S3:
        if kind != "Gateway":
            problems.append(f"{where}: vpc_endpoint_type {kind!r}, expected the Gateway endpoint")
        tables = {stack.target(t, "aws_route_table") for t in _listed(body.get("route_table_ids"))}
        tables |= {
            stack.target(a.get("route_table_id"), "aws_route_table")
            for a in stack.resources("aws_vpc_endpoint_route_table_association").values()
            if stack.target(a.get("vpc_endpoint_id"), "aws_vpc_endpoint") == name
        }
        if nb.route_table is not None and nb.route_table not in tables:
            problems.append(f"{where}: not on aws_route_table.{nb.route_table}, the route table of {nb.where}'s "
                            "subnet: S3 traffic has no route to it")
        prefix_list = "${" + f"aws_vpc_endpoint.{name}.prefix_list_id" + "}"
        if not _egress(stack, nb.groups, lambda rule: rule.get("prefix_list_id") == prefix_list):
            problems.append(f"{where}: no security group of {nb.where} may send TCP {HTTPS} to its prefix list "
                            f"({prefix_list})")
    else:
        if kind != "Interface":
            problems.append(f"{where}: vpc_endpoint_type {kind!r}, expected Interface")
        if not _is_true(body.get("private_dns_enabled")):
            problems.append(f"{where}: private_dns_enabled is not true: the SDKs' default hostnames resolve to "
                            "the public endpoint")
        subnets = {stack.target(s, "aws_subnet") for s in _listed(body.get("subnet_ids"))}
        subnets |= {
            stack.target(a.get("subnet_id"), "aws_subnet")
            for a in stack.resources("aws_vpc_endpoint_subnet_association").values()
            if stack.target(a.get("vpc_endpoint_id"), "aws_vpc_endpoint") == name
        }
        if nb.subnet not in subnets:
            problems.append(f"{where}: no network interface in aws_subnet.{nb.subnet}, the subnet of {nb.where}")
        groups = {stack.target(g, "aws_security_group") for g in _listed(body.get("security_group_ids"))} - {None}
        admitting = {g for g in groups if _ingress(stack, g, nb.groups)}
        if not admitting:
            problems.append(f"{where}: none of its security groups ({', '.join(sorted(groups)) or 'none'}) admits "
                            f"TCP {HTTPS} from a security group of {nb.where}")
        elif not _egress(stack, nb.groups, lambda rule: stack.target(
                rule.get("referenced_security_group_id"), "aws_security_group") in admitting):
            problems.append(f"{where}: no security group of {nb.where} may send TCP {HTTPS} to its security group")
    return problems + _policy_problems(stack, where, name, body, calls)


def _covers_https(rule: dict) -> bool:
    protocol = str(rule.get("ip_protocol", ""))
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = rule.get("from_port"), rule.get("to_port")
    return isinstance(low, int) and isinstance(high, int) and low <= HTTPS <= high


def _ingress(stack: _Stack, group: str, sources: set[str]) -> bool:
    return any(
        stack.target(rule.get("security_group_id"), "aws_security_group") == group
        and stack.target(rule.get("referenced_security_group_id"), "aws_security_group") in sources
        and _covers_https(rule)
        for rule in stack.resources("aws_vpc_security_group_ingress_rule").values()
    )


def _egress(stack: _Stack, groups: set[str], to) -> bool:
    return any(
        stack.target(rule.get("security_group_id"), "aws_security_group") in groups and _covers_https(rule) and to(rule)
        for rule in stack.resources("aws_vpc_security_group_egress_rule").values()
    )


# -- endpoint policies ----------------------------------------------------------------------------
def _policy_problems(stack: _Stack, where: str, name: str, body: dict, calls: list[ApiCalls]) -> list[str]:
    policy = body.get("policy")
    for other in stack.resources("aws_vpc_endpoint_policy").values():
        if stack.target(other.get("vpc_endpoint_id"), "aws_vpc_endpoint") == name:
            policy = other.get("policy")
    if policy is None:
        return [f"{where}: no policy: AWS gives the endpoint its default policy, full access for anyone"]
    try:
        statements = _statements(stack, policy)
    except ValueError as error:
        return [f"{where}: cannot read its policy ({error})"]
    problems = [
        f"{where}: its policy allows full access (statement {s.get('Sid', index)!r}: Action, Resource and "
        "Principal '*' without a condition)"
        for index, s in enumerate(statements)
        if _is_full_access(s)
    ]
    for action in dict.fromkeys(a for call in calls for a in call.actions):
        allowed = any(_effect(s) == "Allow" and _matches(s, "Action", action) for s in statements)
        denied = [s for s in statements if _effect(s) == "Deny" and _matches(s, "Action", action)
                  and not s.get("Condition") and _matches(s, "Resource", "*")]
        if not allowed or denied:
            problems.append(f"{where}: its policy lets no {action} through ("
                            f"{'denied without a condition' if denied else 'no Allow statement names it'})")
    return problems


def _statements(stack: _Stack, policy: Any) -> list[dict]:
    found = stack.ref(policy)
    if found and found[0] == "data.aws_iam_policy_document" and found[2] == "json":
        block = stack.data("aws_iam_policy_document").get(found[1])
        if block is None:
            raise ValueError(f"no data source {found[1]}")
        if block.get("source_policy_documents") or block.get("override_policy_documents"):
            raise ValueError("merged source or override documents are not read here")
        return to_iam_json(block)["Statement"]
    if isinstance(policy, str) and "${" not in policy:
        document = json.loads(policy)
        statements = document.get("Statement", [])
        return statements if isinstance(statements, list) else [statements]
    raise ValueError(f"not a policy document: {policy!r}")


def _effect(statement: dict) -> str:
    return statement.get("Effect", "Allow")


def _matches(statement: dict, key: str, value: str) -> bool:
    return any(fnmatchcase(value.lower(), pattern.lower()) for pattern in _listed(statement.get(key)))


def _is_full_access(statement: dict) -> bool:
    principal = statement.get("Principal")
    anyone = principal == "*" or (isinstance(principal, dict) and "*" in _listed(principal.get("AWS")))
    return (
        _effect(statement) == "Allow"
        and "*" in _listed(statement.get("Action"))
        and "*" in _listed(statement.get("Resource"))
        and anyone
        and not statement.get("Condition")
    )


# -- the lifecycle scripts --------------------------------------------------------------------------
def _lifecycle_scripts(stack: _Stack, notebook: dict) -> dict[str, str]:
    """The notebook's rendered lifecycle scripts by hook (``on_create``, ``on_start``), decoded."""
    config = stack.ref(notebook.get("lifecycle_config_name"))
    if not config or config[0] != "aws_sagemaker_notebook_instance_lifecycle_configuration":
        return {}
    block = stack.resources(config[0]).get(config[1], {})
    return {hook: base64.b64decode(block[hook]).decode() for hook in ("on_create", "on_start") if block.get(hook)}


def lifecycle_scripts(stack_doc: dict) -> dict[str, dict[str, str]]:
    """Every notebook's rendered lifecycle scripts: notebook name -> hook -> script."""
    stack = _Stack(stack_doc)
    return {name: _lifecycle_scripts(stack, nb) for name, nb in stack.resources("aws_sagemaker_notebook_instance").items()}


def _assignments(script: str) -> dict[str, str]:
    return dict(_ASSIGNMENT.findall(script))


def _install_violations(name: str, on_create: str) -> list[str]:
    if not on_create:
        return []
    values = _assignments(on_create)
    if "BRAKET_SDK_VERSION" not in values:
        return [f"aws_sagemaker_notebook_instance.{name}: cannot tell from its on-create script whether it installs "
                "from PyPI (no BRAKET_SDK_VERSION=\"...\" line)"]
    if values["BRAKET_SDK_VERSION"] and not (values.get("PACKAGE_INDEX") or values.get("MIRROR_DOMAIN")):
        return [f"aws_sagemaker_notebook_instance.{name}: its on-create script installs amazon-braket-sdk from "
                "pip's default index, PyPI, on the internet (give it a package mirror or an index URL, or none)"]
    return []


def endpoint_names(stack_doc: dict) -> set[str]:
    """The short names of the stack's VPC endpoints (``braket``, ``s3``, ``notebook`` ...)."""
    names = set()
    for body in _Stack(stack_doc).resources("aws_vpc_endpoint").values():
        service = str(body.get("service_name", ""))
        if service.startswith("aws.sagemaker.") and service.endswith(".notebook"):
            names.add(NOTEBOOK_UI)
        elif service.startswith("com.amazonaws."):
            names.add(service.split("}", 1)[-1].lstrip(".") if "}" in service else service.split(".", 3)[-1])
    return names


def iter_calls(calls: Iterable[ApiCalls]) -> Iterable[tuple[ApiCalls, str]]:
    """Every (entry, operation) pair of ``calls``."""
    for call in calls:
        for operation in call.operations:
            yield call, operation
