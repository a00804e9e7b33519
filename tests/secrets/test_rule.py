"""The one secret rule (ovntrace.model.secrets): names, value shapes, known values in every encoding."""

from __future__ import annotations

import json
import shlex

import pytest

from ovntrace.lab.runbook import atom, sh
from ovntrace.model import secrets as S
from tests.secrets.hostile import BY_NAME, BY_SHAPE, JWT, PEM, leaks


@pytest.mark.parametrize("name", ["k8s-api-token", "token", "db-password", "passwd", "k8s-auth-passphrase",
                                  "client-secret", "private_key", "ipsec_key", "ipsec-psk", "psk", "api-key",
                                  "apikey", "client-key-data", "aws_secret_access_key", "Authorization",
                                  "credentials", "db_pass", "SSL:private_key"])
def test_secret_names(name: str) -> None:
    assert S.secret_name(name)


@pytest.mark.parametrize("name", ["tunnel_key", "key", "in_key", "out_key", "options:key", "k8s-api-server",
                                  "k8s-ca-certificate", "certificate", "ca_cert", "hostname", "ovn-remote",
                                  "system-id", "iface-id", "monkey", "bypass", "passive", "cookie"])
def test_not_secret_names(name: str) -> None:
    assert not S.secret_name(name)


@pytest.mark.parametrize(("text", "want"), [
    ("Authorization: Bearer abc.DEF-123456", "Authorization: Bearer ***"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz'", "curl -H 'Authorization: Basic ***'"),
    (f"token is {JWT} ok", "token is *** ok"),
    (f"a\n{PEM}\nb", "a\n***\nb"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE truncated", "***"),
    ("https://admin:p@ss:w@host:6443/x and http://host/", "https://admin:***@host:6443/x and http://host/"),
    ("ovsdb tcp:1.2.3.4:6641 ssl:host:6642", "ovsdb tcp:1.2.3.4:6641 ssl:host:6642"),
    ('external_ids:k8s-api-token="a\\"b" next', 'external_ids:k8s-api-token="***" next'),
    ('external_ids : {hostname=n1, k8s-api-token="x y", ovn-remote="tcp:1:2"}',
     'external_ids : {hostname=n1, k8s-api-token="***", ovn-remote="tcp:1:2"}'),
    ('["map",[["k8s-api-token","s3"],["tunnel_key","5"]]]', '["map",[["k8s-api-token","***"],["tunnel_key","5"]]]'),
    ('{"password": "x y", "user": "u"}', '{"password": "***", "user": "u"}'),
    ("kubectl --token abc123 --server x --password=hunter22", "kubectl --token *** --server x --password=***"),
    ("ipsec_key=0xdeadbeef psk: abc", "ipsec_key=*** psk: ***"),
    ("users:\n- name: a\n  user:\n    client-key-data: LS0tLS1CRUdJTg==\n    token: abcd",
     "users:\n- name: a\n  user:\n    client-key-data: ***\n    token: ***"),
    ("apiVersion: v1\nkind: Config\nclusters: []\nusers: []\n", "***"),
    ("tunnel_key=5 cookie=0x1 options:key=flow k8s-api-server=https://1.2.3.4", None),
])
def test_value_patterns(text: str, want: str | None) -> None:
    assert S.redact_patterns(text) == (text if want is None else want)


def test_known_secrets_in_every_encoding() -> None:
    """The bug: redaction looked for the raw value in a command holding its escaped, quoted form."""
    red = S.Redactor(BY_NAME.values())
    for v in BY_NAME.values():
        for text in (v, json.dumps(v), json.dumps(v, ensure_ascii=False), shlex.quote(v), repr(v),
                     sh("ovs-vsctl", "set", "Open_vSwitch", ".", f"external_ids:x={atom(v)}"),
                     shlex.quote(json.dumps({"x": v}, ensure_ascii=False))):
            assert not leaks(red(text)), (v, text, red(text))


def test_structured_values_are_redacted_whole_or_by_shape() -> None:
    for k, v in BY_NAME.items():
        assert S.redact_value(k, v) == "***"
    for k, v in BY_SHAPE.items():
        got = S.redact_value(k, v)
        assert not leaks(got) and "***" in got, (k, got)
    assert S.redact_value("k8s-api-server", "https://admin:pw@h") == "https://admin:***@h"
    assert S.redact_value("hostname", "kube-node1") == "kube-node1"
    assert S.redact_value("k8s-api-token", "") == ""


def test_short_known_secrets_do_not_shred_text() -> None:
    assert S.redact_text("a b c", ["a"]) == "a b c"  # shorter than MIN_TEXT_SECRET: structured redaction only
    assert S.redact_text("the pw is abcd.", ["abcd"]) == "the pw is ***."
