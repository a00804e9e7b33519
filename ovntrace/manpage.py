"""The man page, generated from the command line's parser (argparse-manpage): ``man/ovntrace.1``, installed as
``share/man/man1/ovntrace.1``. Regenerate with ``python -m ovntrace.manpage > man/ovntrace.1`` after changing
an option (tests/test_cli.py checks the file is current)."""

from __future__ import annotations

import sys


def render() -> str:
    from argparse_manpage.manpage import Manpage  # type: ignore[import-untyped]

    from ovntrace import __version__
    from ovntrace.cli import build_parser

    parser = build_parser()
    data = {"project_name": "ovntrace", "version": __version__, "date": f"ovntrace {__version__}",
            "manual_title": "ovntrace manual", "description": "make OVS/OVN ofproto/trace output readable"}
    import os

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps usage lines to the terminal: the same file everywhere
    try:
        return str(Manpage(parser, _data=data))
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


if __name__ == "__main__":
    sys.stdout.write(render())
