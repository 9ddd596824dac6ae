"""Reading a report form (multipart/form-data or urlencoded) under a size cap.

The body is read chunk by chunk and refused (413) past ``max_body_bytes`` before anything
is parsed; the parts are then parsed by Starlette's own form parsers.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from gisplatform.errors import InvalidBody, PayloadTooLarge, UnsupportedMediaType
from gisplatform.i18n import message

MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"


@dataclass
class ReportForm:
    """The fields of a form, each with every value sent, and the photo file's bytes."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    photo: bytes | None = None

    def one(self, name: str) -> str | None:
        """The field's (first) value, or None when it was not sent."""
        values = self.fields.get(name)
        return values[0] if values else None

    def prefixed(self, start: str, end: str = "") -> dict[str, list[str]]:
        """Fields named ``<start>code<end>`` (or ``…[]``) by their code: ``answer.problem``,
        ``attribute[problem]``, ``attribute[reasons][]``."""
        found: dict[str, list[str]] = {}
        for name, values in self.fields.items():
            if not name.startswith(start):
                continue
            code = name[len(start) :].removesuffix("[]")
            if end:
                if not code.endswith(end):
                    continue
                code = code[: -len(end)]
            if code and "[" not in code and "]" not in code:
                found.setdefault(code, []).extend(values)
        return found


async def _capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    too_large = PayloadTooLarge(message("report_body_too_large", limit=limit))
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def read_form(request: Request, limit: int) -> ReportForm:
    """The request's form; 413 past ``limit`` bytes, 415 for other content types."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (MULTIPART, URLENCODED):
        raise UnsupportedMediaType(message("report_media_type"))
    body = await _capped(request, limit)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        if content_type == URLENCODED:
            parsed = await FormParser(request.headers, stream()).parse()
        else:
            parser = MultiPartParser(
                request.headers, stream(), max_files=1, max_fields=100, max_part_size=limit
            )
            parsed = await parser.parse()
    except MultiPartException:
        raise InvalidBody(message("report_form_refused")) from None
    form = ReportForm()
    for name, value in parsed.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            if name == "photo" and data:
                form.photo = data
            continue
        form.fields.setdefault(name, []).append(value)
    return form
