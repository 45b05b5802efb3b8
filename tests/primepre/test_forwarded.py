"""gunicorn with gunicorn_config.py believes X-Forwarded-Proto only from a proxy it is told to
trust: a client that sends the header itself is still redirected to HTTPS."""

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def gunicorn(tmp_path, **extra: str):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "SECRET_KEY": "forwarded-test-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF",
        "SECURE_SSL_REDIRECT": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "primepre.wsgi", "-c", "gunicorn_config.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def get_with_forwarded_https(port: int) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/api/auth/me/", headers={"X-Forwarded-Proto": "https"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_client_claiming_https_is_redirected_when_no_proxy_is_trusted(tmp_path):
    with gunicorn(tmp_path) as port:
        response = get_with_forwarded_https(port)

    assert response.status == 301
    assert response.getheader("Location").startswith("https://")


def test_the_header_is_believed_from_a_proxy_the_setting_names(tmp_path):
    with gunicorn(tmp_path, FORWARDED_ALLOW_IPS="127.0.0.1") as port:
        response = get_with_forwarded_https(port)

    # Not redirected: the request reached the view, which wants a token.
    assert response.status == 401
