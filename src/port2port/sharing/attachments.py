"""Attachment checks: size and type by content (sniffed), never by the name or the browser's word."""

from __future__ import annotations

import hashlib
import io

from django.utils.translation import gettext as _

from port2port.core.errors import Invalid

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


def check_size(size: int | None, filename: str) -> None:
    if size is not None and size > MAX_ATTACHMENT_BYTES:
        raise Invalid(
            _("“%(name)s” is larger than %(limit)s MB")
            % {"name": filename, "limit": MAX_ATTACHMENT_BYTES // 2**20},
            field="attachments",
        )


def sniff(data: bytes, filename: str) -> str:
    """The content type of an allowed file, or Invalid naming the problem."""
    if not data:
        raise Invalid(_("“%(name)s” is empty") % {"name": filename}, field="attachments")
    check_size(len(data), filename)
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise Invalid(
                _("“%(name)s” is not a complete PDF file") % {"name": filename}, field="attachments"
            )
        return "application/pdf"
    if (
        data[:4]
        in (b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\xff\xd8\xff\xdb", b"\xff\xd8\xff\xee")
        or data.startswith((b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a"))
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    ):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
                kind = image.format
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise Invalid(
                _("“%(name)s” is not a readable image") % {"name": filename}, field="attachments"
            ) from exc
        if kind not in IMAGE_TYPES:
            raise Invalid(
                _("“%(name)s”: this image type is not allowed") % {"name": filename},
                field="attachments",
            )
        return IMAGE_TYPES[kind]
    if b"\x00" not in data[:8192]:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "text/plain"
    raise Invalid(
        _("“%(name)s” is not an allowed file: PDF, JPEG, PNG, GIF, WebP or plain text only")
        % {"name": filename},
        field="attachments",
    )


# The names a file of each sniffed type may carry: a file is never served under a name that makes
# a desktop open it as something else (an .hta or .exe holding text, a "report.pdf" holding HTML).
EXTENSIONS = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "image/gif": {".gif"},
    "image/webp": {".webp"},
    "text/plain": {".txt", ".md", ".csv", ".log"},
}


def check_name(filename: str, content_type: str) -> None:
    suffix = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    allowed = EXTENSIONS[content_type]
    if suffix not in allowed:
        raise Invalid(
            _("“%(name)s”: the name does not match the content (%(type)s); use %(allowed)s")
            % {"name": filename, "type": content_type, "allowed": ", ".join(sorted(allowed))},
            field="attachments",
        )


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
