"""Styles are data: one table maps row kinds to Rich styles (light and dark terminals alike)."""

from __future__ import annotations

import zlib

STYLES: dict[str, str] = {
    "header": "bold",
    "pass": "bold underline",
    "bridge": "bold blue",
    "table": "bold cyan",
    "table.miss": "bold red",
    "noop": "dim cyan",
    "detail": "dim italic",
    "warning": "yellow",
    "error": "bold red",
    "thaw": "magenta",
    "bucket": "cyan",
    "elided": "dim",
    "annotation": "blue italic",
    "unparsed": "red reverse",
    "spurious": "dim strike",
    "note": "dim",
    "ovn": "green",
    "lflow": "dim green",
    "path": "bold",
    "verdict.ok": "bold green",
    "verdict.drop": "bold red",
    "verdict.punt": "bold yellow",
    "verdict.unknown": "bold magenta",
    "action.set_field": "yellow",
    "action.load": "yellow",
    "action.move": "yellow",
    "action.push": "yellow",
    "action.pop": "yellow",
    "action.resubmit": "blue",
    "action.goto_table": "blue",
    "action.output": "bold green",
    "action.NORMAL": "bold green",
    "action.LOCAL": "bold green",
    "action.IN_PORT": "bold green",
    "action.FLOOD": "bold green",
    "action.ALL": "bold green",
    "action.drop": "bold red",
    "action.controller": "bold yellow",
    "action.ct": "magenta",
    "action.ct_clear": "magenta",
    "action.nat": "magenta",
    "action.clone": "cyan",
    "action.group": "cyan",
    "action.learn": "cyan",
    "action.dec_ttl": "yellow",
}
DEFAULT_ACTION_STYLE = ""

# cookies get a stable colour from a hash of their value
COOKIE_PALETTE = ("magenta", "cyan", "green", "yellow", "blue", "bright_magenta", "bright_cyan", "bright_blue")


def style_for(key: str) -> str:
    got = STYLES.get(key)
    if got is not None:
        return got
    return DEFAULT_ACTION_STYLE if key.startswith("action.") else ""


def cookie_style(cookie: str) -> str:
    return COOKIE_PALETTE[zlib.crc32(cookie.encode()) % len(COOKIE_PALETTE)]
