"""The WSGI wrapper that keeps bodies over their path's limit away from Django, on every path."""

import io
import json

from primepre.body_limit import BodySizeLimit


def call(app, body: bytes, **environ):
    captured = {}

    def start_response(status, headers):
        captured["status"] = status
        captured["headers"] = dict(headers)

    base = {"wsgi.input": io.BytesIO(body), "HTTP_TRANSFER_ENCODING": "chunked"}
    result = b"".join(app({**base, **environ}, start_response))
    return captured, result


def fixed(limit: int):
    return lambda path: limit


def echo_app(environ, start_response):
    start_response("200 OK", [])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return [environ["wsgi.input"].read(length)]


def test_a_chunked_body_within_the_limit_reaches_the_app_with_its_length():
    app = BodySizeLimit(echo_app, limit_for=fixed(1000))

    captured, body = call(app, b"a" * 700)

    assert captured["status"] == "200 OK"
    assert body == b"a" * 700


def test_a_chunked_body_over_the_limit_is_413_without_reaching_the_app():
    reached = []

    def app(environ, start_response):
        reached.append(True)
        return echo_app(environ, start_response)

    captured, body = call(BodySizeLimit(app, limit_for=fixed(100_000)), b"a" * 200_000)

    assert captured["status"].startswith("413")
    assert b'"code": "request_too_large"' in body
    assert reached == []


def test_a_body_within_its_declared_length_is_left_to_django():
    app = BodySizeLimit(echo_app, limit_for=fixed(10))

    _, body = call(app, b"abcdef", CONTENT_LENGTH="6", HTTP_TRANSFER_ENCODING="")

    assert body == b"abcdef"


def test_a_declared_length_over_the_limit_is_413_on_any_path_before_reading():
    reached = []

    def app(environ, start_response):
        reached.append(True)
        return echo_app(environ, start_response)

    unread = io.BytesIO(b"x" * 50)
    captured, body = call(
        BodySizeLimit(app, limit_for=fixed(10)),
        b"",
        CONTENT_LENGTH="50",
        HTTP_TRANSFER_ENCODING="",
        PATH_INFO="/admin/login/",
        **{"wsgi.input": unread},
    )

    assert captured["status"].startswith("413")
    assert b'"code": "request_too_large"' in body
    assert reached == []
    assert unread.tell() == 0


def test_an_upload_over_the_limit_is_file_too_large_and_any_other_body_request_too_large():
    app = BodySizeLimit(echo_app, limit_for=fixed(10))
    common = {"CONTENT_LENGTH": "50", "HTTP_TRANSFER_ENCODING": ""}

    _, upload = call(app, b"", CONTENT_TYPE="multipart/form-data; boundary=x", **common)
    _, json_body = call(app, b"", CONTENT_TYPE="application/json", **common)

    assert json.loads(upload)["code"] == "file_too_large"
    assert json.loads(json_body)["code"] == "request_too_large"
    assert json.loads(json_body)["detail"] == "The request body is larger than 10 bytes."


def test_each_path_has_the_limit_of_its_endpoint_a_sign_in_a_few_kb_an_upload_megabytes():
    # given the wrapper of the real application's paths
    app = BodySizeLimit(echo_app)
    body = b"x" * 40_000

    # when the same 40 KB arrives in chunks at the sign-in and at the upload
    login, _ = call(app, body, PATH_INFO="/api/auth/login/")
    upload, echoed = call(
        app,
        body,
        PATH_INFO="/api/auth/customers/excel/upload/",
        CONTENT_TYPE="multipart/form-data; boundary=x",
    )
    unknown, _ = call(app, b"x" * 100_000, PATH_INFO="/api/no-such-path/")

    # then the sign-in refuses it, the upload takes it, and a path of no view has the default
    assert login["status"].startswith("413")
    assert upload["status"] == "200 OK"
    assert echoed == body
    assert unknown["status"].startswith("413")


def test_a_declared_length_over_a_sign_in_limit_is_413_before_reading():
    unread = io.BytesIO(b"x" * 40_000)

    captured, body = call(
        BodySizeLimit(echo_app),
        b"",
        CONTENT_LENGTH="40000",
        HTTP_TRANSFER_ENCODING="",
        CONTENT_TYPE="application/json",
        PATH_INFO="/api/auth/signup/",
        **{"wsgi.input": unread},
    )

    assert captured["status"].startswith("413")
    assert json.loads(body)["code"] == "request_too_large"
    assert unread.tell() == 0
