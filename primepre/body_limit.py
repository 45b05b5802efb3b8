"""WSGI wrapper: no request body larger than the upload limit reaches Django, on any path.

A declared Content-Length over the limit is refused with 413 before a byte is read (Django
would otherwise parse a huge form, file included, for the CSRF check of any POST, even to the
admin's login page). A body sent in chunks (no Content-Length) is counted as it arrives and
refused as soon as it passes the limit; within it, Django gets a spooled copy with its length
set, since Django reads a body only up to CONTENT_LENGTH and would see a chunked one as empty.
"""

import json
import tempfile

READ_SIZE = 64 * 1024
SPOOL_IN_MEMORY = 2_621_440


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
                return self._too_large(start_response)
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
                return self._too_large(start_response)
            spool.write(chunk)
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(total)
        return self.app(environ, start_response)

    def _too_large(self, start_response):
        body = json.dumps(
            {
                "success": False,
                "code": "file_too_large",
                "message": f"The request body is larger than {self.limit_bytes:,} bytes.",
            }
        ).encode()
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]
