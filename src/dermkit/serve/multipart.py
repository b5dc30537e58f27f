"""Reading a ``multipart/form-data`` upload into memory, never onto disk.

Starlette's own form parser spools files above 1 MiB to a temporary file; an upload of a patient's
image must not touch the disk (unless ``--keep-uploads``), so the API reads the body itself, bounded
by the request limit, and parses it in memory with python-multipart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from dermkit.serve.errors import ApiError
from dermkit.serve.security import too_large_message

#: Parts a request may have (the image and a few text fields); more is not a form of this API.
MAX_PARTS = 16
#: Longest text field (age, sex, site).
MAX_FIELD_BYTES = 1024


@dataclass
class Part:
    """One form part: its field name, file name (None for a text field), content type and bytes."""

    name: str = ""
    filename: str | None = None
    content_type: str = ""
    data: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Form:
    """A parsed upload: the file parts and the text fields by name (the first of each name)."""

    files: dict[str, Part]
    fields: dict[str, str]


def bad_form(reason: str) -> ApiError:
    return ApiError(400, "bad_multipart", f"the form data cannot be read ({reason}); send multipart/form-data")


def check_form_content_type(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` request.

    Raises:
        ApiError: 415 ``unsupported_media_type`` for any other content type, 400 without a boundary.
    """
    kind, params = parse_options_header(content_type or "")
    if kind.lower() != b"multipart/form-data":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"the request's content type is {kind.decode('latin-1') or 'missing'}; send multipart/form-data with "
            "the image in the field 'image' (e.g. curl -F image=@lesion.jpg)",
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise bad_form("no boundary in the Content-Type header")
    return boundary


class _Collector:
    """python-multipart callbacks that gather parts into memory."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self._header_name = b""
        self._header_value = b""

    @property
    def part(self) -> Part:
        return self.parts[-1]

    def on_part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise bad_form(f"more than {MAX_PARTS} parts")
        self.parts.append(Part())

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise bad_form("a part has no name in its Content-Disposition header")
        self.part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode("utf-8", "replace")
        self.part.content_type = self.part.headers.get(b"content-type", b"").decode("latin-1")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.part.data += data[start:end]
        if self.part.filename is None and len(self.part.data) > MAX_FIELD_BYTES:
            raise bad_form(f"the field {self.part.name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def callbacks(self) -> dict:
        names = ("on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished")
        return {name: getattr(self, name) for name in (*names, "on_part_data")}


def _parse(step, *args) -> None:
    """One step of the parser; whatever python-multipart raises on a malformed body is a 400."""
    try:
        step(*args)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-multipart raises assorted errors on malformed bodies
        raise bad_form(type(exc).__name__) from None


async def read_form(request: Request, limit: int) -> Form:
    """The request's multipart form, read into memory (at most ``limit`` bytes).

    Raises:
        ApiError: 415 (not multipart), 413 ``request_too_large``, 400 ``bad_multipart``.
    """
    boundary = check_form_content_type(request.headers.get("content-type"))
    collector = _Collector()
    parser = MultipartParser(boundary, collector.callbacks())
    received = 0
    async for chunk in request.stream():  # the edge's limit may end this early (413 there)
        received += len(chunk)
        if received > limit:
            raise ApiError(413, "request_too_large", too_large_message(limit), headers={"Connection": "close"})
        _parse(parser.write, chunk)
    _parse(parser.finalize)
    files, fields = {}, {}
    for part in collector.parts:
        if part.filename is not None:
            files.setdefault(part.name, part)
        else:
            fields.setdefault(part.name, part.data.decode("utf-8", "replace"))
    return Form(files=files, fields=fields)
