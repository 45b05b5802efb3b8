"""The size limits of a request: its body (a WSGI wrapper) and its query string (a middleware).

No request body larger than the upload limit reaches Django, on any path.

A declared Content-Length over the limit is refused with 413 before a byte is read (Django
would otherwise parse a huge form, file included, for the CSRF check of any POST, even to the
admin's login page). A body sent in chunks (no Content-Length) is counted as it arrives and
refused as soon as it passes the limit; within it, Django gets a spooled copy with its length
set, since Django reads a body only up to CONTENT_LENGTH and would see a chunked one as empty.
The answer names what was too large: an upload (a multipart body) `file_too_large`, any other
body `request_too_large`.

A query string over QUERY_STRING_MAX bytes is a JSON 414 `uri_too_long` (no request here needs
more than a few hundred). gunicorn refuses a request line over its limit_request_line (8,190
bytes, its most) itself, before Django, with its own short HTML 414.
"""

import json
import tempfile

READ_SIZE = 64 * 1024
SPOOL_IN_MEMORY = 2_621_440
QUERY_STRING_MAX = 4096


class BodySizeLimit:
    def __init__(self, app, *, limit_bytes: int):
        self.app = app
        self.limit_bytes = limit_bytes

    def __call__(self, environ, start_response):
        declared = environ.get("CONTENT_LENGTH")
        if declared:
            try:
                too_large = int(declared) > self.limit_bytes
            except ValueError:
                too_large = False
            if too_large:
                return self._too_large(environ, start_response)
            return self.app(environ, start_response)
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.app(environ, start_response)
        # Handed to Django as the body; closed with the request.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        stream = environ["wsgi.input"]
        total = 0
        while chunk := stream.read(READ_SIZE):
            total += len(chunk)
            if total > self.limit_bytes:
                spool.close()
                return self._too_large(environ, start_response)
            spool.write(chunk)
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(total)
        return self.app(environ, start_response)

    def _too_large(self, environ, start_response):
        from users.api import errors  # wsgi.py imports this module before Django is set up

        upload = environ.get("CONTENT_TYPE", "").lower().startswith("multipart/")
        code = errors.FILE_TOO_LARGE if upload else errors.REQUEST_TOO_LARGE
        what = "file" if upload else "request body"
        message = f"The {what} is larger than {self.limit_bytes:,} bytes."
        body = json.dumps(errors.envelope(code, message)).encode()
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]


class QueryStringLimitMiddleware:
    """A JSON 414 for a query string over QUERY_STRING_MAX bytes, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from users.api import errors

        if len(request.META.get("QUERY_STRING", "")) > QUERY_STRING_MAX:
            return errors.json_error_response(
                errors.URI_TOO_LONG,
                f"The query string is longer than {QUERY_STRING_MAX:,} bytes.",
                414,
            )
        return self.get_response(request)
