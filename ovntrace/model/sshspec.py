"""The ``[user@]host[:port]`` form of an ssh ProxyJump hop (ssh_config(5)), read the same way by the
inventory's validation and by the SSH client. Pure: text in, parts out."""

from __future__ import annotations


def split_hop(hop: str) -> tuple[str, str, str]:
    """``(user, host, port)`` of one hop, each ``""`` when absent; ``ssh://`` and ``[v6]`` host forms
    accepted: ``"admin@[::1]:2222"`` -> ``("admin", "::1", "2222")``."""
    user, _, hostport = hop.removeprefix("ssh://").rpartition("@")
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        return user, host, port.removeprefix(":")
    host, _, port = hostport.partition(":")
    return user, host, port
