"""`ovntrace provision` (the bundled runbook) and `ovntrace lab` (a real OVN cluster on one machine)."""

from ovntrace.lab.errors import LabError

__all__ = ["LabError"]
