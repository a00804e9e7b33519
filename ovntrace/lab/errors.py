"""Errors of the runbook and the lab: one clear line and an exit code, never a traceback."""

from __future__ import annotations


class LabError(Exception):
    """An expected failure of `ovntrace provision` or `ovntrace lab`.

    ``str(err)`` is a one-line message for stderr; ``exit_code`` is what the CLI exits with.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
