"""A report's photo: type from its content, re-encoded as JPEG without any metadata.

Pillow reads the file whatever its name or declared type says; only JPEG, PNG and WebP
photos are taken. The stored copy is a new JPEG of the pixels alone: the orientation is
applied first, then nothing of the original's EXIF (GPS position, camera, time), XMP, ICC
or comments is carried over, and the longest side is capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError

from gisplatform.errors import PayloadTooLarge, UnsupportedMediaType
from gisplatform.i18n import message
from gisplatform.settings import ReportSettings

ACCEPTED = frozenset({"JPEG", "PNG", "WEBP", "MPO"})  # MPO: phones' JPEG with a depth map
_MAGIC = ((b"%PDF", "PDF"), (b"PK\x03\x04", "ZIP"), (b"<", "HTML/XML"), (b"GIF8", "GIF"))


@dataclass(frozen=True)
class Photo:
    """A photo as stored: JPEG bytes without metadata and its size."""

    content: bytes
    media_type: str
    width: int
    height: int


def _found(data: bytes, detected: str | None) -> str:
    if detected:
        return detected
    head = data[:8].lstrip()
    return next((name for magic, name in _MAGIC if head.startswith(magic)), "?")


def clean_photo(data: bytes, limits: ReportSettings) -> Photo:
    """The photo re-encoded; 413 when too large, 415 when not a photo we take."""
    if len(data) > limits.max_photo_bytes:
        limit_mb = round(limits.max_photo_bytes / (1024 * 1024), 1)
        raise PayloadTooLarge(message("report_photo_too_large", limit=f"{limit_mb:g}"))
    try:
        with Image.open(BytesIO(data)) as image:
            detected = image.format
            if detected not in ACCEPTED:
                raise UnsupportedMediaType(
                    message("report_photo_type", found=_found(data, detected))
                )
            if image.width * image.height > limits.photo_max_pixels:
                raise UnsupportedMediaType(message("report_photo_type", found="too many pixels"))
            upright = ImageOps.exif_transpose(image)
            pixels = upright.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise UnsupportedMediaType(message("report_photo_type", found=_found(data, None))) from None
    pixels.thumbnail((limits.photo_max_side, limits.photo_max_side))
    out = BytesIO()
    # a new image: no exif=, no icc_profile=, no comment= — nothing of the original is kept
    pixels.save(out, "JPEG", quality=85, optimize=True)
    return Photo(out.getvalue(), "image/jpeg", pixels.width, pixels.height)
