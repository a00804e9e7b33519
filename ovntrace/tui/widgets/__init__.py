"""Widgets of the explain screen: verdict bar, path, trace tree, details, runbook, raw input."""
