"""The replay page names what an evidence reference points at in words, not as an internal code."""

from __future__ import annotations

from flask import Flask

from app.recordings.views import ref_words


def test_references_in_words(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert ref_words("system:opening") == {"text": "平台", "url": None, "ref": "system:opening"}
        assert ref_words("tender:999999")["text"] == "tender:999999"  # nothing to name it by: the reference itself
        assert ref_words("room:demo")["url"] is None and ref_words(None)["text"] == ""
