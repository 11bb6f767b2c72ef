"""Per-environment configuration, the stack that composes the constructs, and the bootstrap stack."""

from .config import BOOTSTRAP, BOOTSTRAP_STACK, ENVIRONMENTS, BootstrapConfig, EnvironmentConfig, S3StateBackend, get_environment

__all__ = [
    "BOOTSTRAP",
    "BOOTSTRAP_STACK",
    "ENVIRONMENTS",
    "BootstrapConfig",
    "EnvironmentConfig",
    "S3StateBackend",
    "STACK_NAMES",
    "add_environment_stacks",
    "add_stacks",
    "get_environment",
    "unknown_stack",
]

STACK_NAMES = (BOOTSTRAP_STACK, *sorted(ENVIRONMENTS))
"""Every stack main.py synthesizes (cdktf.out/stacks/<name>/cdk.tf.json), the bootstrap first."""


def add_environment_stacks(app, environments=None):
    """Add one QuantumStack per environment (all configured ones by default) to ``app``."""
    from .quantum_stack import QuantumStack

    return {name: QuantumStack(app, get_environment(name)) for name in environments or sorted(ENVIRONMENTS)}


def add_stacks(app):
    """Add every stack of the app to ``app``: the bootstrap (``BootstrapStack``), then one
    ``QuantumStack`` per environment. Returns them by name, in ``STACK_NAMES`` order."""
    from .bootstrap_stack import BootstrapStack

    return {BOOTSTRAP_STACK: BootstrapStack(app), **add_environment_stacks(app)}



def unknown_stack(name: str) -> str | None:
    """None if main.py synthesizes a stack ``name`` (``make deploy ENV=<name>``), else one line
    naming the stacks."""
    if name in STACK_NAMES:
        return None
    return (f"ENV={name!r} is not a stack of this app: expected one of {', '.join(STACK_NAMES)} "
            f"({BOOTSTRAP_STACK} first, then the environments)")
