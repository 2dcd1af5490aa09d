"""Tampering with sealed PDFs, and pdfsig."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def flip_byte(sealed: bytes) -> bytes:
    """Change one byte inside the signed range (the producer's name in the document information)."""
    at = sealed.index(b"WeasyPrint") + 1
    out = bytearray(sealed)
    out[at] ^= 0x01
    return bytes(out)


def append_drawing(sealed: bytes) -> bytes:
    """An incremental update after the seal that adds a red box to the first page's content."""
    writer = IncrementalPdfFileWriter(BytesIO(sealed), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = writer.add_object(generic.StreamObject(stream_data=b"q 1 0 0 rg 20 20 200 60 re f Q"))
    contents = page["/Contents"]
    existing = list(contents) if isinstance(contents, generic.ArrayObject) else [page.raw_get("/Contents")]
    page["/Contents"] = generic.ArrayObject([*existing, stream])
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def pdfsig(data: bytes, tmp: Path, *args: str, no_ocsp: bool = True) -> str:
    """pdfsig's report. `-no-ocsp` keeps it off the network, but then NSS (poppler 22) reports any chain it is
    asked to trust as "Unknown issue": the trust check runs without it (our certificates name no OCSP responder,
    so nothing is fetched either way)."""
    if shutil.which("pdfsig") is None:
        pytest.fail("pdfsig (poppler-utils) is required for these tests")
    path = tmp / "doc.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdfsig", *(["-no-ocsp"] if no_ocsp else []), *args, str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout + done.stderr
