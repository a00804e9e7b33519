"""The one rule for what is secret, shared by ``provision plan``/``apply``, ``snapshot``, ``doctor`` and the
model's external_ids. Pure: strings in, strings out (no I/O).

Two kinds of evidence:

* **A name** (a map key, a column, an option, the left side of ``k=v``/``k: v``): :func:`secret_name`.
  Secret when it contains ``token``, ``password``/``passwd``/``passphrase``, ``secret``, ``private``, ``auth``,
  ``credential``, ``psk``, or names key *material*: ``api-key``/``apikey``, ``private_key``, ``secret_key``,
  ``access_key``, ``ssh_key``, ``ipsec_key``, ``signing_key``, ``encryption_key``, ``client-key-data`` …
  A bare ``key`` and the many OVN/OVS keys that are numbers or modes are *not* secret: ``tunnel_key``
  (Datapath_Binding, Port_Binding), ``options:key``/``in_key``/``out_key`` (a tunnel's ID or ``flow``),
  ``k8s-api-server``, ``k8s-ca-certificate`` (a path; certificates are public); neither are
  ``certificate``/``ca_cert`` (PEM material in a value is caught by the value rule instead).
* **A value** (:func:`redact_patterns`), whatever its name: PEM blocks (``-----BEGIN …-----`` to its
  ``-----END …-----``, or to the end when it has none), ``Bearer``/``Basic`` credentials, JSON Web Tokens
  (``eyJ….eyJ….sig``), the password of a URL (``scheme://user:PASSWORD@host``), the value of a secret-named
  assignment (``token=…``, ``"password": "…"``, ``--token …``, ``ipsec_key=…``, a kubeconfig's
  ``client-key-data:``/``token:`` lines) and a whole kubeconfig (:func:`is_kubeconfig`).

Redact structured values *before* they are quoted (:func:`redact_value`): a command built from redacted
values cannot leak whatever escaping it uses. :func:`redact_text` is the second net, for text that holds
secrets in an unknown encoding (a command's output, an error message): it replaces each known secret in
every encoding ovntrace or the OVS tools produce (raw, JSON/OVSDB-escaped, shell-quoted, Python ``repr``),
then the value patterns. Known secrets shorter than :data:`MIN_TEXT_SECRET` characters are not replaced in
free text (that would shred it); they are still redacted where they are structured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

MARK = "***"
MIN_TEXT_SECRET = 4

_WORDS = re.compile(
    r"token|passw(?:or)?d|passphrase|secret|private|auth|credential|psk|"
    r"(?:^|[^a-z])pass(?:$|[^a-z])",
    re.IGNORECASE,
)
#: key *material*: a qualifier, then "key" (``api_key``, ``ipsec-key``, ``client-key-data``, ``apikey``)
_KEY_MATERIAL = re.compile(
    r"(?:api|access|secret|private|ssh|signing|sign|encryption|encrypt|ipsec|session|client|master|hmac|"
    r"shared|pre[_.-]?shared|crypt|wrap|enc)[_.-]?key|key[_.-]?data",
    re.IGNORECASE,
)


def secret_name(name: str) -> bool:
    """Is a value named ``name`` a secret (see the module doc)?"""
    return bool(_WORDS.search(name) or _KEY_MATERIAL.search(name))


# ---------------------------------------------------------------------------------------------
# value patterns

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,64})-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
_SCHEME = re.compile(r"(?<![\w-])(Bearer|Basic)([ \t]+)[A-Za-z0-9._~+/-]{8,}=*", re.IGNORECASE)
_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_URL_PASS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s/?#:@\"']*):([^\s/?#\"']*)@")
# name = value / name: value / "name": "value" / "name","value" (OVSDB JSON maps) / --name value
_QSTR = r'"(?:[^"\\\n]|\\.)*"'
_VALUE = r"(?P<v>" + _QSTR + r"|'[^'\n]*'|[^\s,;}\])\"']+)"
_ASSIGN = re.compile(
    r"(?P<k>" + _QSTR + r"|(?<![\w.:/])[A-Za-z_][\w.:/-]*)"
    r"(?P<sep>[ \t]*(?:=|:(?!//))[ \t]*|(?<=\"),[ \t]*)" + _VALUE
)
_OPTION = re.compile(r"(?<![\w-])(?P<k>--?[A-Za-z][\w-]*)(?P<sep>[ \t]+)" + _VALUE)


def is_kubeconfig(value: str) -> bool:
    """A kubeconfig's contents (YAML or JSON): it holds cluster credentials as a whole."""
    v = value.lower()
    return ("kind: config" in v or '"kind": "config"' in v or '"kind":"config"' in v) and (
        "users:" in v or '"users"' in v or "clusters:" in v or '"clusters"' in v
    )


def _scan(text: str, mark: str, found: list[str] | None) -> str:
    """Redact the value patterns in order; the hidden substrings are appended to ``found``."""
    if is_kubeconfig(text):
        if found is not None:
            found.append(text)
        return mark

    def whole(m: re.Match[str]) -> str:
        if found is not None:
            found.append(m.group(0))
        return mark

    def scheme(m: re.Match[str]) -> str:
        if found is not None:
            found.append(m.group(0)[len(m.group(1)) + len(m.group(2)):])
        return m.group(1) + m.group(2) + mark

    def url(m: re.Match[str]) -> str:
        if found is not None and m.group(2) != mark:
            found.append(m.group(2))
        return m.group(1) + ":" + mark + "@"

    def assign(m: re.Match[str]) -> str:
        k = m.group("k")
        name = (k[1:-1] if k.startswith('"') else k).rsplit("/", 1)[-1].lstrip("-")
        v = m.group("v")
        bare = v[1:-1] if v[:1] in "\"'" and len(v) >= 2 else v
        if not secret_name(name) or bare in (mark, "") or bare.lower() in ("bearer", "basic"):
            return m.group(0)
        if found is not None:
            found.append(bare)
        return k + m.group("sep") + (v[0] + mark + v[0] if v[:1] in "\"'" else mark)

    text = _PEM.sub(whole, text)
    text = _SCHEME.sub(scheme, text)
    text = _JWT.sub(whole, text)
    text = _URL_PASS.sub(url, text)
    text = _ASSIGN.sub(assign, text)
    return _OPTION.sub(assign, text)


def redact_patterns(text: str, mark: str = MARK) -> str:
    """``text`` with every secret-shaped part replaced by ``mark`` (PEM, Bearer/Basic, JWT, URL password,
    secret-named assignments); a kubeconfig becomes ``mark`` as a whole."""
    return _scan(text, mark, None) if text else text


def find_secrets(text: str) -> list[str]:
    """The substrings of ``text`` that :func:`redact_patterns` hides (to redact them elsewhere, in other
    encodings)."""
    found: list[str] = []
    _scan(text, MARK, found)
    return [s for s in found if s and s != MARK]


def redact_value(name: str, value: str, mark: str = MARK) -> str:
    """A structured value (``name`` = ``value``), redacted before anything quotes it: all of it when the
    name is secret or it is a kubeconfig, else its secret-shaped parts."""
    if not value:
        return value
    if secret_name(name) or is_kubeconfig(value):
        return mark
    return redact_patterns(value, mark)


# ---------------------------------------------------------------------------------------------
# known secrets in free text


def _json_inner(s: str, ascii_only: bool) -> str:
    return json.dumps(s, ensure_ascii=ascii_only)[1:-1]


def encodings(secret: str) -> set[str]:
    """``secret`` as it can appear in text: raw, JSON/OVSDB-escaped (ASCII or not), inside a single-quoted
    shell word (``'`` as ``'"'"'``), shell-quoted as a word, as Python ``repr`` shows it; and each of its
    lines (a multi-line secret is shown line by line)."""
    forms = {secret, _json_inner(secret, True), _json_inner(secret, False), repr(secret)[1:-1]}
    forms |= {f.replace("'", "'\"'\"'") for f in list(forms)}
    forms |= {f.replace("'", "'\\''") for f in list(forms)}
    forms.add(_shell_word(secret))
    for line in secret.splitlines():
        if len(line.strip()) >= 2 * MIN_TEXT_SECRET:
            forms.add(line.strip())
    return {f for f in forms if len(f) >= MIN_TEXT_SECRET}


def _shell_word(s: str) -> str:
    import shlex

    return shlex.quote(s)


class Redactor:
    """Replaces known secrets (in every encoding) and secret-shaped text. Build once, apply to many lines."""

    def __init__(self, secrets: Iterable[str] = (), mark: str = MARK) -> None:
        self.mark = mark
        forms: set[str] = set()
        for s in secrets:
            if len(s) >= MIN_TEXT_SECRET:
                forms |= encodings(s)
        self.forms = sorted(forms - {mark}, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(f) for f in self.forms)) if self.forms else None

    def __call__(self, text: str) -> str:
        if self._re is not None:
            text = self._re.sub(self.mark, text)
        return redact_patterns(text, self.mark)


def redact_text(text: str, secrets: Iterable[str] = (), mark: str = MARK) -> str:
    """``text`` with the known ``secrets`` (every encoding) and secret-shaped parts replaced by ``mark``."""
    return Redactor(secrets, mark)(text)
