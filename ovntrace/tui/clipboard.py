"""Where ``y`` copies to: the terminal's clipboard (OSC 52) and, always, a file.

A program cannot learn whether its terminal took an OSC 52 sequence: there is no acknowledgement, and the
query that reads the clipboard back is disabled in most terminals (it would let any program read what
was copied). So ``y`` sends OSC 52 (harmless where it is ignored; it also fills the app's own clipboard),
always writes the text to :func:`clipboard_file` too (atomically, mode 0600: trace lines can be private),
and says which of the two to trust:

- known to take it: inside tmux with ``set-clipboard on`` (tmux keeps it as a paste buffer and passes it
  on to the terminal outside);
- known to ignore it: the Linux console (``TERM=linux``), ``TERM=dumb``, tmux with ``set-clipboard``
  ``external`` (its default) or ``off``, GNU screen (``$STY`` outside tmux);
- otherwise unknown: most graphical terminals take it (kitty, WezTerm, foot, iTerm2, Windows Terminal,
  recent xterm with ``allowWindowOps``), some ignore it or ask first.

No Textual here: the screen calls :func:`detect` once and :func:`write_file` on each ``y``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ovntrace.lab.inventory import atomic_write


@dataclass(frozen=True, slots=True)
class Support:
    osc52: bool | None  # True: the terminal takes it; False: it ignores it; None: cannot tell
    why: str  # in words, for the notification ("tmux set-clipboard on", "TERM=linux")


def clipboard_file(env: Mapping[str, str] | None = None) -> Path:
    """``$OVNTRACE_CLIPBOARD_FILE``, else ``$XDG_CACHE_HOME/ovntrace/clipboard.txt`` (``~/.cache`` when unset)."""
    env = os.environ if env is None else env
    if env.get("OVNTRACE_CLIPBOARD_FILE"):
        return Path(env["OVNTRACE_CLIPBOARD_FILE"]).expanduser()
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return cache / "ovntrace" / "clipboard.txt"


def _tmux_set_clipboard(env: Mapping[str, str]) -> str | None:
    """tmux's ``set-clipboard`` option, asked of the server this terminal is in (None: cannot ask)."""
    try:
        proc = subprocess.run(["tmux", "show-options", "-gv", "set-clipboard"], capture_output=True, text=True,
                              timeout=2, env=dict(env), check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def detect(env: Mapping[str, str] | None = None) -> Support:
    """Whether OSC 52 reaches a clipboard in this terminal, as far as it can be known (module docstring)."""
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    if term in ("linux", "dumb", ""):
        return Support(False, f"TERM={term or '(unset)'}")
    if env.get("TMUX"):
        value = _tmux_set_clipboard(env)
        if value == "on":
            return Support(True, "tmux set-clipboard on")
        if value in ("off", "external"):
            return Support(False, f"tmux set-clipboard {value}: `tmux set -g set-clipboard on` lets it through")
        return Support(None, "inside tmux (its set-clipboard option could not be read)")
    if env.get("STY"):
        return Support(False, "GNU screen")
    return Support(None, "a terminal does not say whether it took OSC 52")


def write_file(text: str, env: Mapping[str, str] | None = None) -> Path:
    """Write ``text`` to :func:`clipboard_file` atomically (private to the user); returns the path."""
    path = clipboard_file(env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, text if text.endswith("\n") else text + "\n", mode=0o600)
    return path


def message(what: str, support: Support, path: Path | None, error: str | None = None) -> str:
    """What the notification says: where ``what`` went, and which copy to trust."""
    where = f"written to {path}" if path is not None else f"not written to a file ({error})"
    if support.osc52 is True:
        return f"copied {what} to the terminal clipboard (OSC 52, {support.why}); also {where}"
    if support.osc52 is False:
        return f"no terminal clipboard here ({support.why}): {what} {where}"
    return (f"copied {what}: sent to the terminal clipboard (OSC 52; {support.why}) and {where}")
