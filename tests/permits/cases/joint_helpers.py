"""Helpers of the joint review (联审制) and joint site inspection (联合踏勘) tests."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import Flask

from app.extensions import db
from app.permits.cases import joint, services
from tests.permits.cases.helpers import attach_all, people, submit, who
from tests.permits.cases.processing_helpers import BEIJING


def meeting_case(
    app: Flask, co: tuple[str, ...] = ("HDGSJ", "HDDSJ"), mode: str | None = "meeting", **item_changes: Any
) -> tuple[int, dict[str, int]]:
    """An application of ITEM accepted now with co-departments `co`, in `mode` (None: the item's default)."""
    p = people(app)
    with app.test_request_context():
        from app.permits.catalogue import services as catalogue
        from tests.permits.cases.conftest import ITEM

        item = catalogue.get_item(ITEM)
        for key, value in item_changes.items():
            setattr(item, key, value)
        row = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), row)
        services.accept_application(actor=who(p["desk"]), application=row, co_departments=list(co), joint_mode=mode)
        db.session.commit()
        return row.id, p


def beijing(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def image(kind: str = "png", width: int = 16, height: int = 12) -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(f".{kind}", np.full((height, width, 3), 120, dtype=np.uint8))
    assert ok
    return bytes(data.tobytes())


def photo(data: bytes, name: str = "现场.png", kind: str = "image/png") -> joint.Photo:
    return joint.Photo(name=name, stream=io.BytesIO(data), content_type=kind)


def png_bomb() -> bytes:
    """A PNG whose header claims 100 000 × 100 000 pixels (a decompression bomb's opening)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\x00" * 64
    )
