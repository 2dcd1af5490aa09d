"""The verification page's canonical JSON (assets/receipt/canonical.js) writes the very bytes crypto/canonical.py
writes, and refuses what it refuses: run under Node on tricky values, compared byte for byte with Python."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from crypto.canonical import CanonicalError, canonicalize, loads_canonical

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "assets" / "receipt" / "canonical.js"

# Each case is JSON text: both sides parse it their strict way and write the canonical form (or refuse).
TEXTS = [
    '{"b":1,"a":2,"A":3,"_":4,"aa":5,"":6}',
    '{"é":1,"e":2,"z":3,"\\u00e9t\\u00e9":4,"中文":5,"😀":6,"\\uffff":7,"\\ud83d\\ude00x":8}',
    '{"\\uff61":1,"\\ud800\\udc00":2}',  # U+FF61 sorts after U+10000 by UTF-16 code units, before it by code point
    '["\\u0000\\u0001\\u001f\\u007f","\\b\\t\\n\\f\\r","\\"\\\\/","\\u2028\\u2029","中文 Ω ≠ 😀","\\ud83d\\ude00"]',
    "[0,-0,1,-1,9007199254740991,-9007199254740991,123456789012345]",
    '{"nested":{"z":{"y":[{"b":null,"a":true}],"x":false},"a":[]},"empty":{}}',
    '  {"spaced" : [ 1 , 2 ] }\n',
    '"plain string"',
    "null",
    # refused by both
    "[1.0]",
    "[1.5]",
    "[1e3]",
    "[-0.0]",
    "[9007199254740992]",
    "[-9007199254740992]",
    "[123456789012345678901234567890]",
    '["\\ud800"]',
    '["\\udc00x"]',
    '{"a":1,"a":1}',
    "[NaN]",
    "[Infinity]",
    "[1,]",
    '{"a":1}x',
    "",
]
NODE_SCRIPT = """
import { canonicalText, parseStrict, loadsCanonical } from %s;
const cases = JSON.parse(process.argv[1]);
const out = cases.texts.map((text) => {
  try { return { ok: Buffer.from(canonicalText(parseStrict(text)), "utf8").toString("base64") }; }
  catch (err) { return { error: String(err.message) }; }
});
const loads = cases.bytes.map((b64) => {
  try { loadsCanonical(new Uint8Array(Buffer.from(b64, "base64"))); return true; } catch { return false; }
});
console.log(JSON.stringify({ out, loads }));
"""


def _python(text: str) -> bytes | None:
    def refuse(value: str) -> Any:
        raise CanonicalError(value)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) != len(items):
            raise CanonicalError("duplicate key")
        return dict(items)

    try:
        value = json.loads(text, parse_float=refuse, parse_constant=refuse, object_pairs_hook=pairs)
        return canonicalize(value)
    except (ValueError, CanonicalError):
        return None


def _node(texts: list[str], raw: list[bytes]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the verification page's code (it builds the assets too)")
    script = NODE_SCRIPT % json.dumps(MODULE.as_uri())
    arg = json.dumps({"texts": texts, "bytes": [base64.b64encode(b).decode() for b in raw]})
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, arg], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(done.stdout))


def _receipt_like() -> dict[str, Any]:
    return {
        "format": "platform-bid-receipt/v2",
        "tender": {"reference": "ZB2026-001", "title": "教学楼改造工程 “一期”\t\n", "id": 7},
        "bidder": {"name": "某某建设有限公司 😀", "uscc": "91130400MA0000103D", "organisation_id": 3},
        "envelopes": [{"name": "技术标", "sha256": "ab" * 32, "size": 52_428_800}],
        "bid": {"id": "vuxmcyg2leaqbzpk4zay5mr", "version": 2},
        "received_at": "2026-12-06T01:02:03.456789Z",
        "nonce": "00" * 32,
    }


def test_js_writes_the_same_canonical_bytes_as_python_and_refuses_the_same_values() -> None:
    texts = [*TEXTS, json.dumps(_receipt_like(), ensure_ascii=False, indent=2)]
    result = _node(texts, [])
    for text, got in zip(texts, result["out"], strict=True):
        expected = _python(text)
        if expected is None:
            assert "error" in got, (text, got)
        else:
            assert "ok" in got, (text, got)
            assert base64.b64decode(got["ok"]) == expected, text


def test_js_accepts_exactly_the_canonical_bytes_python_accepts() -> None:
    good = canonicalize(_receipt_like())
    variants = [
        good,
        good.replace(b":", b": ", 1),  # whitespace
        json.dumps(_receipt_like(), ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode(),  # \\u escapes
        good.replace(b'"version":2', b'"version":2.0'),  # a float spelling of the same number
        good[:-1] + b',"bid":{}}',  # a duplicate key
        b'{"a":"\xff"}',  # not UTF-8
        canonicalize({"z": 1, "a": [1, "\u2028"]}),
    ]
    result = _node([], variants)
    for raw, accepted in zip(variants, result["loads"], strict=True):
        try:
            loads_canonical(raw)
            python = True
        except CanonicalError:
            python = False
        assert accepted is python, raw[:80]
    assert result["loads"][0] is True and result["loads"][1] is False
