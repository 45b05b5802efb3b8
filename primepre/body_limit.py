"""The size limits of a request: its body (a WSGI wrapper, and a middleware behind it) and its
query string (a middleware).

Every endpoint takes a body no larger than what it needs (BodyLimit): a sign-in, a PIN, a
refresh token or a profile 32 KB; a staff form or JSON body 64 KB; only the legacy bulk body
and uploads more. A view names its kind in `body_limit`; a path of no view gets the default.

A declared Content-Length over the path's limit is refused with 413 before a byte is read
(Django would otherwise parse a huge form, file included, for the CSRF check of any POST, even
to the admin's login page). A body sent in chunks (no Content-Length) is counted as it arrives
and refused as soon as it passes the limit; within it, Django gets a spooled copy with its
length set, since Django reads a body only up to CONTENT_LENGTH and would see a chunked one as
empty. The answer names what was too large: an upload (a multipart body) `file_too_large`, any
other body `request_too_large`. BodyLimitMiddleware applies the same limit for the handlers that
do not go through wsgi.py (the test client, ASGI).

The limit also caps how many values a JSON body may hold (users.web.parsers), since bytes alone
do not bound what parsing builds.

A query string over QUERY_STRING_MAX bytes is a JSON 414 `uri_too_long` (no request here needs
more than a few hundred). gunicorn refuses a request line over its limit_request_line (8,190
bytes, its most) itself, before Django, with its own short HTML 414.
"""

import enum
import json
import tempfile
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.urls import Resolver404, resolve

READ_SIZE = 64 * 1024
SPOOL_IN_MEMORY = 2_621_440
QUERY_STRING_MAX = 4096

# The legacy bulk body holds up to this many customers, each of up to this many values (its
# fields under their names or a header text, and the object itself).
LEGACY_BULK_CUSTOMERS = 10_000
LEGACY_CUSTOMER_VALUES = 16
# Room for the multipart envelope around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024


class Limits(NamedTuple):
    bytes: int
    values: int


class BodyLimit(enum.Enum):
    """What a view's body may be (its `body_limit`; DEFAULT when it names none)."""

    # sign-in, refresh, PIN, sign-up, profile, password, a choice for every possible duplicate
    # of an import: a few fields
    SMALL = "small"
    DEFAULT = "default"  # a staff form or JSON body: one customer, one user, a mapping
    BULK = "bulk"  # the legacy bulk body
    UPLOAD = "upload"  # a spreadsheet

    def limits(self) -> Limits:
        """Read at each request, so that the settings' limits can change (tests, deploys)."""
        if self is BodyLimit.SMALL:
            # The largest valid body of these (a sign-up, every field at its longest, in
            # characters beyond the BMP that a client escapes as JSON does by default, 12 bytes
            # each) is 28 KB; the values, not the bytes, bound what parsing builds.
            return Limits(bytes=32 * 1024, values=256)
        if self is BodyLimit.BULK:
            return Limits(
                bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
                values=LEGACY_BULK_CUSTOMERS * LEGACY_CUSTOMER_VALUES,
            )
        if self is BodyLimit.UPLOAD:
            return Limits(bytes=settings.IMPORT_MAX_FILE_BYTES + MULTIPART_OVERHEAD, values=1000)
        return Limits(bytes=64 * 1024, values=1000)


def limits_of_view(view: object) -> Limits:
    """The limits of a view: a class-based view's instance, or the function a URL resolves to
    (as_view() and the admin's wrappers keep the class in `view_class`)."""
    kind = getattr(view, "body_limit", None) or getattr(
        getattr(view, "view_class", None), "body_limit", None
    )
    return (kind or BodyLimit.DEFAULT).limits()


def bytes_for_path(path: str) -> int:
    """The body limit of the view `path` resolves to, or the default for a path of none."""
    try:
        match = resolve(path)
    except Resolver404:
        return BodyLimit.DEFAULT.limits().bytes
    return limits_of_view(match.func).bytes


class BodySizeLimit:
    """The WSGI wrapper: a body over its path's limit never reaches Django."""

    def __init__(self, app, *, limit_for: Callable[[str], int] = bytes_for_path):
        self.app = app
        self.limit_for = limit_for

    def __call__(self, environ, start_response):
        declared = environ.get("CONTENT_LENGTH")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not declared and not chunked:
            return self.app(environ, start_response)
        from django.core.handlers.wsgi import get_path_info

        limit = self.limit_for(get_path_info(environ))
        if declared:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False
            if too_large:
                return self._too_large(environ, start_response, limit)
            return self.app(environ, start_response)
        # Handed to Django as the body; closed with the request.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        stream = environ["wsgi.input"]
        total = 0
        while chunk := stream.read(READ_SIZE):
            total += len(chunk)
            if total > limit:
                spool.close()
                return self._too_large(environ, start_response, limit)
            spool.write(chunk)
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(total)
        return self.app(environ, start_response)

    def _too_large(self, environ, start_response, limit: int):
        body = json.dumps(too_large_envelope(environ, limit)).encode()
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]


def too_large_envelope(meta: dict, limit: int) -> dict:
    """The 413's body: `file_too_large` for an upload (a multipart body), else
    `request_too_large`."""
    # Imported here: wsgi.py imports this module before Django is set up.
    from users.errors import FILE_TOO_LARGE, REQUEST_TOO_LARGE
    from users.web.errors import envelope

    upload = meta.get("CONTENT_TYPE", "").lower().startswith("multipart/")
    code = FILE_TOO_LARGE if upload else REQUEST_TOO_LARGE
    what = "file" if upload else "request body"
    return envelope(code, f"The {what} is larger than {limit:,} bytes.")


class BodyLimitMiddleware:
    """The body limit of the view about to run, from the declared length, before anything
    reads the body (it comes before CsrfViewMiddleware, whose check reads a form)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.http import JsonResponse

        limit = limits_of_view(view_func).bytes
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return JsonResponse(too_large_envelope(request.META, limit), status=413)
        return None


class QueryStringLimitMiddleware:
    """A JSON 414 for a query string over QUERY_STRING_MAX bytes, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from users.errors import URI_TOO_LONG
        from users.web.errors import json_error_response

        if len(request.META.get("QUERY_STRING", "")) > QUERY_STRING_MAX:
            return json_error_response(
                URI_TOO_LONG,
                f"The query string is longer than {QUERY_STRING_MAX:,} bytes.",
                414,
            )
        return self.get_response(request)
