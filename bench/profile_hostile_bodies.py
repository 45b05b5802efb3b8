"""Where a hostile legacy bulk body's memory goes inside Django: tracemalloc around one request
through the WSGI application gunicorn calls (primepre.wsgi), per shape of
bench_hostile_bodies.py, on a scratch SQLite test database.

    .venv/bin/python bench/profile_hostile_bodies.py

Prints, per shape, the answer and the peak of Python allocations beyond the body itself (the
body is handed over in memory, as gunicorn hands it over after reading it). The first request
of a process also loads modules: it is sent once before measuring. Then the peak of gunicorn's
own body reader reading one such body, in 64 KiB chunks, the body included.
"""

import io
import os
import sys
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_hostile_bodies import BULK_LIMIT, SHAPES, shape
from bench.common import CONFIRM, print_table


def post(application, body: bytes, token: str) -> tuple[str, str, float]:
    """(status, the answer's code, peak MB allocated while it was handled)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": CONFIRM,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    statuses: list[str] = []
    tracemalloc.start()
    answer = b"".join(application(environ, lambda status, headers: statuses.append(status)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statuses[0], answer.split(b'"code":"')[1].split(b'"')[0].decode(), peak / 1e6


def gunicorn_read_peak(size: int) -> float:
    """Peak MB of gunicorn's Body reading `size` bytes as Django asks for them (one read of up
    to DATA_UPLOAD_MAX_MEMORY_SIZE + 1), the body it returns included."""
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import IterUnreader

    chunks = [b"x" * 65536] * (size // 65536)
    body = Body(LengthReader(IterUnreader(iter(chunks)), 65536 * len(chunks)))
    tracemalloc.start()
    body.read(BULK_LIMIT + 1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "primepre.test_settings"
    import django

    django.setup()
    from django.test.utils import setup_databases, setup_test_environment
    from rest_framework_simplejwt.tokens import RefreshToken

    from primepre.wsgi import application
    from tests.factories import StaffFactory

    setup_test_environment()
    setup_databases(verbosity=0, interactive=False)
    token = str(RefreshToken.for_user(StaffFactory()).access_token)
    post(application, b"{}", token)
    rows = []
    for name in SHAPES:
        body = shape(name, BULK_LIMIT - 1024)
        status, code, peak = post(application, body, token)
        rows.append([name, f"{len(body):,}", status, code, f"{peak:.1f}"])
    print_table(
        "One legacy bulk body in Django (tracemalloc), MB allocated beyond the body",
        ["shape", "bytes", "status", "code", "peak MB"],
        rows,
    )
    print(f"\ngunicorn reading one such body: peak {gunicorn_read_peak(BULK_LIMIT):.1f} MB")


if __name__ == "__main__":
    main()
