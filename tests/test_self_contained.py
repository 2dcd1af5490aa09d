"""The repository holds everything its tests and the platform read: no path reaches outside the checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A path built to climb out of the checkout into a sibling folder (such as the steering repository's shared/).
OUTSIDE = re.compile(r"""\.\./shared|parents\[[3-9]\]|["']shared["']\s*/""")


def test_no_file_reads_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "*.sh", "*.mk", "Makefile", "Procfile", ".ci/*", "*.toml", "*.cfg"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked, "git ls-files found nothing: run the tests from a git checkout"
    offenders = []
    for name in tracked:
        if name == "tests/test_self_contained.py":
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        lines = enumerate(text.splitlines(), 1)
        offenders += [f"{name}:{n}: {line.strip()}" for n, line in lines if OUTSIDE.search(line)]
    assert offenders == []


def test_age_vectors_are_in_the_repository() -> None:
    from tests.crypto.vectors import VECTOR_DIR, vector_names

    assert ROOT in VECTOR_DIR.resolve().parents
    assert (VECTOR_DIR / "NOTICE").read_text(encoding="utf-8").count("Zero-Clause BSD") >= 1
    assert len(vector_names()) > 100
