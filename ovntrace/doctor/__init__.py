"""``ovntrace doctor``: check a cluster against the runbook over SSH and say which runbook step fixes what.

``facts`` reads (read-only commands, over :mod:`ovntrace.sources.ssh`), ``checks`` turns what was read into
findings (pure: facts in, findings out), ``cli`` wires and renders.
"""
