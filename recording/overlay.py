"""Burn the room's name and the wall-clock time into a frame with OpenCV (its built-in font covers CJK)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@lru_cache(maxsize=4)
def _font(name: str) -> cv2.FontFace:
    return cv2.FontFace(name)


def burn_in(image: Image, room: str, moment: datetime, *, zone: tzinfo | None = None, font: str = "uni") -> Image:
    """Draw `room` and the time (in `zone`, named) on a dark band at the top-left; modifies and returns image."""
    shown = moment.astimezone(zone) if zone is not None else moment
    stamp = shown.strftime("%Y-%m-%d %H:%M:%S") + f".{shown.microsecond // 100_000} {shown.tzname() or ''}".rstrip()
    height, width = image.shape[:2]
    size = max(12, height // 24)
    text = f"{room}  {stamp}"
    face = _font(font)
    box = cv2.getTextSize((width, height), text, (0, 0), face, size)
    band_w = min(width, int(box[2]) + size)
    band_h = min(height, int(size * 1.6))
    region = image[0:band_h, 0:band_w]
    region //= 3  # darken rather than cover, so the scene stays visible under the text
    cv2.putText(image, text, (size // 2, int(size * 1.15)), (255, 255, 255), face, size)
    return image
