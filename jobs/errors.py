"""The ways a jobs command stops short, mapped to exit codes by the CLI."""


class UsageError(Exception):
    """Bad input or a refusal (exit code 2). The message is one line: what was wrong and what is allowed."""


class ServiceError(Exception):
    """A task or the service failed (exit code 1)."""


class Interrupted(Exception):
    """Ctrl-C (exit code 130): what completed is saved in ``report``; ``resume_command`` collects the
    rest, and ``cancel_command`` (None for the local simulator) stops what still runs at Braket."""

    def __init__(self, report: dict, resume_command: str, cancel_command: "str | None" = None) -> None:
        super().__init__(resume_command)
        self.report, self.resume_command, self.cancel_command = report, resume_command, cancel_command
