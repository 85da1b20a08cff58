"""Uploads stay in memory: nothing a user sends (an anonymous report's photo, a shared attachment)
is ever written to a temporary file in clear. A file beyond MAX_BYTES is not kept: it arrives
empty but with its true size, so the service refuses it by its size with a clear message."""

from __future__ import annotations

from io import BytesIO

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

MAX_BYTES = 10 * 1024 * 1024  # the largest file any page accepts


class MemoryOnlyUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer, self.received = BytesIO(), 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received <= MAX_BYTES + 1:
            self.buffer.write(raw_data)
        return None  # no later handler: this one keeps the data

    def file_complete(self, file_size):
        if self.received > MAX_BYTES + 1:
            self.buffer = BytesIO()  # too large: dropped, the true size is kept for the message
        self.buffer.seek(0)
        upload = InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=self.received,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
        return upload
