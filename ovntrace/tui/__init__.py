"""``ovntrace tui``: the incident TUI (Textual). Nothing is imported here: ``ovntrace --help`` stays fast.

Entry points: :func:`ovntrace.tui.app.create_app` (app factory), :mod:`ovntrace.tui.cli` (``register``).
"""
