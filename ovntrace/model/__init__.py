"""Pure data model: frozen dataclasses, no I/O, no rendering."""

from ovntrace.model.actions import Action, Subfield
from ovntrace.model.odp import DatapathAction
from ovntrace.model.trace import (
    ParseResult,
    ParseWarning,
    Pass,
    SectionLine,
    Step,
    StepKind,
    Trace,
    TraceFormat,
    Verdict,
    VerdictKind,
)

__all__ = [
    "Action",
    "DatapathAction",
    "ParseResult",
    "ParseWarning",
    "Pass",
    "SectionLine",
    "Step",
    "StepKind",
    "Subfield",
    "Trace",
    "TraceFormat",
    "Verdict",
    "VerdictKind",
]
