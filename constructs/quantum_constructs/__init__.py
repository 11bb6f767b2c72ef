"""Secure-by-default constructs for Amazon Braket, for CDK for Terraform or CDK Terrain (``framework``).

    from quantum_constructs import QuantumResultsBucket, BraketNotebookRole, QuantumDevNotebook
    from quantum_constructs import BraketJobsExecutionRole, BraketBudget, BraketStateChangeAlerts
    from quantum_constructs import BraketSpendingLimits, AwsccProvider, BraketSpendingLimitResource
    from quantum_constructs import QuantumPrivateNetwork, QuantumGateway, QuantumAuditBucket
    from quantum_constructs import TerraformStateBucket, AccessLogBucket
"""

import os as _os

# jsii prints a large end-of-life banner on every start under Node 20, which
# this library supports; silence only that banner, for Node 20 only.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from .framework import FAMILY  # noqa: E402  chooses CDKTF or CDK Terrain, before anything imports either
from . import lazy_provider  # noqa: E402

# Before any provider import below: load only the provider modules in use.
lazy_provider.install(FAMILY.provider, FAMILY.provider_npm)

from .access_logs import LOGGING_SERVICE, AccessLogBucket  # noqa: E402
from .alerts import BraketStateChangeAlerts  # noqa: E402
from .awscc import (  # noqa: E402
    AWSCC_VERSION_CONSTRAINT,
    AwsccProvider,
    BraketSpendingLimitResource,
    SpendingLimitPeriod,
    shortest_amount,
)
from .bucket import BucketEncryption, QuantumResultsBucket  # noqa: E402
from .budget import BraketBudget  # noqa: E402
from .gateway import QuantumAuditBucket, QuantumGateway, ca_bundle  # noqa: E402
from .guardrails import StackGuardrails, add_guardrails  # noqa: E402
from .jobs_role import JOBS_PREFIX, BraketJobsExecutionRole  # noqa: E402
from .network import (  # noqa: E402
    DEFAULT_INTERFACE_ENDPOINTS,
    QuantumPrivateNetwork,
    SiteToSiteVpn,
    TransitGatewayLink,
)
from .notebook import NOTEBOOK_INSTANCE_TYPES, QuantumDevNotebook  # noqa: E402
from .package_mirror import QuantumPackageMirror  # noqa: E402
from .private_apis import PRIVATE_API_CALLS  # noqa: E402
from .role import BraketNotebookRole, ExistingNotebookRole, device_policy_arn  # noqa: E402
from .spending_limits import BraketSpendingLimits  # noqa: E402
from .state_bucket import TerraformStateBucket  # noqa: E402

def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quantum-constructs")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


def _show_props(*classes: type) -> None:
    """jsii's metaclass hides ``__init__`` behind ``(*args, **kwargs)``; give IDEs and ``?`` the real props."""
    import inspect

    for cls in classes:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]  # without self
        cls.__signature__ = inspect.Signature(parameters)


__version__ = _version()
_show_props(
    AccessLogBucket,
    AwsccProvider,
    BraketBudget,
    BraketSpendingLimitResource,
    BraketSpendingLimits,
    BraketJobsExecutionRole,
    BraketNotebookRole,
    BraketStateChangeAlerts,
    ExistingNotebookRole,
    QuantumAuditBucket,
    QuantumDevNotebook,
    QuantumGateway,
    QuantumPackageMirror,
    QuantumPrivateNetwork,
    QuantumResultsBucket,
    TerraformStateBucket,
)

__all__ = [
    "AWSCC_VERSION_CONSTRAINT",
    "AccessLogBucket",
    "AwsccProvider",
    "BraketBudget",
    "BraketSpendingLimitResource",
    "BraketSpendingLimits",
    "BraketJobsExecutionRole",
    "BraketNotebookRole",
    "BraketStateChangeAlerts",
    "BucketEncryption",
    "ExistingNotebookRole",
    "JOBS_PREFIX",
    "LOGGING_SERVICE",
    "NOTEBOOK_INSTANCE_TYPES",
    "__version__",
    "DEFAULT_INTERFACE_ENDPOINTS",
    "PRIVATE_API_CALLS",
    "QuantumAuditBucket",
    "QuantumDevNotebook",
    "QuantumGateway",
    "QuantumPackageMirror",
    "QuantumPrivateNetwork",
    "SiteToSiteVpn",
    "TransitGatewayLink",
    "QuantumResultsBucket",
    "SpendingLimitPeriod",
    "StackGuardrails",
    "TerraformStateBucket",
    "add_guardrails",
    "ca_bundle",
    "device_policy_arn",
    "shortest_amount",
]
