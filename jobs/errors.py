"""The two ways a jobs command fails, mapped to exit codes by the CLI."""


class UsageError(Exception):
    """Bad input or a refusal (exit code 2). The message is one line: what was wrong and what is allowed."""


class ServiceError(Exception):
    """A task or the service failed (exit code 1)."""
