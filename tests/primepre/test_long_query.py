"""gunicorn with gunicorn_config.py and a long query string: a JSON 414 from Django up to
gunicorn's own request-line limit, gunicorn's short HTML 414 beyond it (both documented in the
schema)."""

import http.client
import json

import pytest

from tests.primepre.test_forwarded import gunicorn

pytestmark = pytest.mark.slow


def get(port: int, query_bytes: int) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/api/auth/customers/?search=" + "x" * query_bytes)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.getheader("Content-Type") or "", body


def test_a_long_query_string_is_a_json_414_and_only_a_huge_request_line_gunicorns_html(
    tmp_path,
):
    with gunicorn(tmp_path, SECURE_SSL_REDIRECT="0") as port:
        long_status, long_type, long_body = get(port, 6000)
        huge_status, huge_type, _ = get(port, 9000)

    assert (long_status, long_type) == (414, "application/json")
    assert json.loads(long_body)["code"] == "uri_too_long"
    assert huge_status == 414
    assert "json" not in huge_type
