"""`python -m crypto verify-document` on what the platform itself produced (issue 15 §4).

A tender opened, evaluated and its report signed by the five seats; `flask platform evidence-export` writes its
receipts (with their inclusion proofs), the signed opening record, the report bundle, the log's checkpoint and export:
every file verifies, deploy/verify-evidence agrees, and one byte changed in any of them fails, naming what failed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.evaluation.test_report import Stage, drawn_up, finished, signed  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
HEX64 = re.compile(r"[0-9a-f]{64}")


def verify(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crypto", "verify-document", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def change_one_byte(path: Path) -> str:
    """Change one hex digit of the first hash in the file (the JSON stays valid); returns the hash changed."""
    text = path.read_text(encoding="utf-8")
    found = HEX64.search(text)
    assert found is not None, path
    at = found.start() + 10
    path.write_text(text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1 :], encoding="utf-8")
    return found.group()


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_every_document_the_platform_exported_verifies_and_one_byte_changed_fails(
    signed: Stage,  # noqa: F811 - fixture
    tmp_path: Path,
) -> None:
    from app.core.backup_cli import export_evidence

    evidence = tmp_path / "evidence"
    with signed.world.app.app_context():
        export_evidence(evidence)
    key = str(evidence / "platform.pem")
    documents = sorted(p for p in evidence.rglob("*.json") if p.name != "index.json")
    done = verify(*map(str, documents), "--key", key, "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], done.stdout + done.stderr
    kinds = [d["kind"] for d in report["documents"]]
    assert kinds.count("bid receipt") == 3 and kinds.count("opening record") == 1, kinds
    assert kinds.count("evaluation report") == 1 and kinds.count("checkpoint") == 1, kinds
    assert kinds.count("evidence-log export") >= 1, kinds
    record = next(d for d in report["documents"] if d["kind"] == "opening record")
    assert record["details"]["tender_id"] == signed.tid and record["details"]["valid_bids"] == 3, record
    assert all(d["details"]["inclusion_checked"] for d in report["documents"] if d["kind"] == "bid receipt")
    assert next(d for d in report["documents"] if d["kind"] == "evaluation report")["details"]["final"] is True

    # the evidence script runs the same command for the signed documents, and everything else it lists
    script = subprocess.run(
        ["deploy/verify-evidence", str(evidence)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert script.returncode == 0 and "(0 failed)" in script.stdout, script.stdout + script.stderr
    assert "opening-record" in script.stdout and "OK" in script.stdout.splitlines()[0]

    expected = {
        "opening record": "the opening record's signature: signature does not verify",
        "bid receipt": "the receipt:",
        "evaluation report": "the report:",
        "checkpoint": "the checkpoint's signature: signature does not verify",
        "evidence-log export": "",
    }
    for document in report["documents"]:
        path = Path(document["source"])
        original = path.read_bytes()
        changed = change_one_byte(path)
        done = verify(str(path), "--key", key)
        assert done.returncode == 1, (path, changed, done.stdout, done.stderr)
        line = done.stdout.strip()
        assert line.startswith("FAIL") and document["kind"] in line and expected[document["kind"]] in line, line
        path.write_bytes(original)
    assert verify(*map(str, documents), "--key", key).returncode == 0  # restored: all verify again
