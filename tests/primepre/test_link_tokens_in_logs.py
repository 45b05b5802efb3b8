"""The token of a sign-in link opens an account: no log line holds it, neither the app's nor
gunicorn's access log."""

import http.client
import logging

import pytest

from primepre.logging import OneLineFormatter
from tests.primepre.test_forwarded import gunicorn

TOKEN = "cf3x9a-0123456789abcdef0123456789abcdef"


def test_an_app_log_line_names_a_links_account_but_not_its_token():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/i/9ix/{TOKEN}/",), None
    )

    line = OneLineFormatter().format(record)

    assert TOKEN not in line
    assert "Not Found: /i/9ix/[token]/" in line


@pytest.mark.slow
def test_gunicorns_access_log_writes_a_links_path_without_its_token(tmp_path):
    access_log = tmp_path / "access.log"

    with gunicorn(tmp_path, SECURE_SSL_REDIRECT="0", GUNICORN_ACCESS_LOG=str(access_log)) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/i/9ix/{TOKEN}/")
        connection.getresponse().read()
        connection.close()

    logged = access_log.read_text()
    assert 'path="/i/9ix/[token]/"' in logged
    assert TOKEN not in logged
