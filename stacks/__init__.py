"""Per-environment configuration and the stack that composes the constructs."""

from .config import ENVIRONMENTS, EnvironmentConfig, S3StateBackend, get_environment

__all__ = ["ENVIRONMENTS", "EnvironmentConfig", "S3StateBackend", "add_environment_stacks", "get_environment"]


def add_environment_stacks(app, environments=None):
    """Add one QuantumStack per environment (all configured ones by default) to ``app``."""
    from .quantum_stack import QuantumStack

    return {name: QuantumStack(app, get_environment(name)) for name in environments or sorted(ENVIRONMENTS)}
