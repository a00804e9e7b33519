from __future__ import annotations

import pytest

from ovntrace.ovn.releases import compare_versions, known_releases, nearest_release, parse_version


def test_known_releases_span_ovs_tree_to_25x() -> None:
    rel = known_releases()
    assert rel[0] == "2.5.0"
    for tag in ("2.8.1", "20.03.0", "23.03.0", "23.03.1", "24.03.9", "25.09.0"):
        assert tag in rel


@pytest.mark.parametrize(
    ("text", "expected"),
    [("23.03.1", (23, 3, 1)), ("v24.09.0", (24, 9, 0)), ("2.9", (2, 9, 0)),
     ("23.03.1-1~deb12u1", (23, 3, 1)), ("ovn-controller 24.03.2", (24, 3, 2))],
)
def test_parse(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_version(text).key == expected


def test_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_version("banana")


def test_compare() -> None:
    assert compare_versions("2.9", "20.03.0") == -1
    assert compare_versions("23.03.1", "23.03.0") == 1
    assert compare_versions("24.09", "24.09.0") == 0


def test_nearest() -> None:
    assert nearest_release("23.03.1").exact
    assert nearest_release("24.03.12").release == "24.03.9"  # newer point release -> last known
    assert nearest_release("23.03").release == "23.03.0"
    assert nearest_release("27.03.0").release == known_releases()[-1]
