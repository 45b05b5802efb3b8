"""One line per event: the message (tag first, key=value after), then level, logger, request id.

Messages written by this project never carry customer data. Third-party messages and tracebacks
might (a database error can quote the value that broke a constraint), so every line is passed
through a redaction filter before it is written.
"""

import contextvars
import logging
import re
import traceback
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# The token of a sign-in link (users.credentials.links): it opens an account, like a password.
_LINK_TOKEN_RE = re.compile(r"/i/([0-9a-z]{1,13})/[^/\s\"'?]+")
# Digit runs that stand alone (not inside an id such as a UUID or a hex digest).
_PHONE_RE = re.compile(r"(?<![\w-])\+?\d[\d ]{7,17}\d(?![\w-])")


def redact(text: str) -> str:
    """Masks anything that looks like an email address or a phone number, and the token of a
    sign-in link's path."""
    text = redact_link_tokens(_EMAIL_RE.sub("[email]", text))
    return _PHONE_RE.sub("[phone]", text)


def redact_link_tokens(text: str) -> str:
    return _LINK_TOKEN_RE.sub(r"/i/\1/[token]", text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class OneLineFormatter(logging.Formatter):
    """`<message> level=.. logger=.. request_id=..`; a traceback is folded into the same line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line = f"{message} level={record.levelname} logger={record.name}"
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            line += f" request_id={request_id}"
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            frames = " < ".join(
                f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}:{frame.name}"
                for frame in reversed(traceback.extract_tb(tb))
            )
            line += f" exc={exc_type.__name__} exc_message={str(exc)!r} frames={frames}"
        return redact(line.replace("\r", " ").replace("\n", " | "))


def build_logging(*, level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "primepre.logging.RequestIdFilter"}},
        "formatters": {"one_line": {"()": "primepre.logging.OneLineFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "filters": ["request_id"],
                "formatter": "one_line",
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "django": {"handlers": ["stdout"], "level": level, "propagate": False},
            # Responses are logged once, by the access log of the server in front.
            "django.server": {"handlers": [], "level": "WARNING", "propagate": False},
            "django.db.backends": {"level": "WARNING"},
        },
    }


class RequestIdMiddleware:
    """Tags each request with an id (the client's X-Request-ID if sane, else a new one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
