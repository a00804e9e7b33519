"""Pure functions from a parsed trace and cluster facts to OVN annotations, a path and a verdict."""

from ovntrace.correlate.annotate import Correlator, annotate

__all__ = ["Correlator", "annotate"]
