"""The reader's language: Accept-Language with its q-weights, any zh is zh-CN, else English."""

from __future__ import annotations

import pytest

from cityloop.base.locale import negotiate


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN", "zh-CN"),
        ("zh-TW,zh;q=0.9", "zh-CN"),
        ("zh", "zh-CN"),
        ("en-GB,en;q=0.9", "en"),
        ("en;q=0.5, zh-CN;q=0.8", "zh-CN"),
        ("zh-CN;q=0.3, en-US;q=0.7", "en"),
        ("fr-FR, zh;q=0.5", "zh-CN"),
        ("fr-FR", "en"),
        ("zh-CN;q=0", "en"),
        ("zh;q=nonsense, en", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_best_weighted_language_we_speak_wins(header: str | None, locale: str) -> None:
    assert negotiate(header) == locale
