"""Secrets of every shape (a hostile corpus, written for these tests: not real credentials).

Each value carries a marker made of letters, digits and '-' only (``S3CRET…``): no escaping (JSON, OVSDB,
shell quoting, Python repr) changes such a run, so a marker found anywhere in an output means that the
secret, in some encoding, leaked. The pattern-shaped values (JWT, PEM) are checked by their own text.
"""

from __future__ import annotations

import re

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab.inventory import Inventory

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJTM0NSRVQtSldUIn0"
       ".S3CRETjwtSIGxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAAS3CRETPEMbody0123456789\n"
       "S3CRETPEMline2abcdefABCDEF==\n-----END PRIVATE KEY-----")

#: external_ids of one node: secret by name (any value), or by the shape of the value (any name)
BY_NAME = {
    "k8s-api-token": "q\"u'o\"te'd S3CRET-A \\\" '\" end",
    "db-password": "back\\slash\\\\n S3CRET-B \\x41 \\u0041",
    "ipsec_key": "$(touch /tmp/ovntrace-pwned)`id` S3CRET-C ${HOME} ; rm -rf / #",
    "k8s-auth-passphrase": "pässwörd ünïcødé 秘密 S3CRET-D ☃ \u00a0nbsp",
    "client-secret": "multi\nline S3CRET-E\nthird line\n",
    "private_key": PEM,
    "k8s-api-token-2": "S3CRET-F",
}
BY_SHAPE = {
    "k8s-api-server": "https://admin:S3CRET-G@api.example:6443/path",
    "k8s-extra-header": "Authorization: Bearer S3CRET-H.abc_DEF-123",
    "k8s-service-account": JWT,
    "k8s-ca-bundle": PEM.replace("PRIVATE KEY", "CERTIFICATE"),
    "k8s-config": "--token=S3CRET-I --server=https://api",
}
MARKERS = re.compile(r"S3CRET|TM0NSRVQtSldU|MIIEvQIBADANBgkqhkiG9w0BAQEFAAS3")


def leaks(text: str) -> list[str]:
    """The secret markers found in ``text`` (with some context)."""
    return [text[max(0, m.start() - 40): m.end() + 20] for m in MARKERS.finditer(text)]


def hostile(inv: Inventory, node: str = "kube-node1") -> Inventory:
    """``inv`` with every hostile secret in ``node``'s external_ids (validated by the real parser)."""
    text = inv_mod.dumps(inv)
    data = __import__("tomllib").loads(text)
    for n in data["nodes"]:
        if n["name"] == node:
            n.setdefault("external_ids", {}).update({**BY_NAME, **BY_SHAPE})
    return inv_mod.parse(data, inv.source)
