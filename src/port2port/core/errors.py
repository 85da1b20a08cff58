"""The one exception family of the platform (CONVENTIONS.md): services raise, handlers render."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error a user may see; `code` is stable, `message` is for people."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = str(message)
        self.fields: dict[str, str] = dict(fields or {})
        if field:
            self.fields.setdefault(field, self.message)

    def as_dict(self) -> dict:
        return {"error": self.code, "message": self.message, "fields": self.fields}


class Invalid(AppError):
    code = "invalid"
    status = 422


class NotAuthenticated(AppError):
    code = "not_authenticated"
    status = 401


class Forbidden(AppError):
    code = "forbidden"
    status = 403


class NotFound(AppError):
    code = "not_found"
    status = 404


class Conflict(AppError):
    code = "conflict"
    status = 409


class Throttled(AppError):
    code = "throttled"
    status = 429


class Unavailable(AppError):
    """Nothing was done and the same request may be sent again after `retry_after` seconds
    (the database was busy or went away)."""

    code = "unavailable"
    status = 503
    retry_after = 5
