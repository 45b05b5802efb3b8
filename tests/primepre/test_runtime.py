"""Production runtime: settings from a bare environment, security checks, CORS, gunicorn's
configuration, logging without customer data."""

import importlib.util
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse
from gunicorn.config import Config as GunicornConfig
from gunicorn.workers.gthread import ThreadWorker

from primepre.logging import OneLineFormatter, redact
from tests.imports.helpers import customer_record, preview, queue, run

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DEBUG": "0",
    "SECRET_KEY": "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "primepre.example.com",
    "CORS_ALLOWED_ORIGINS": "https://app.example.com",
    "DJANGO_SETTINGS_MODULE": "primepre.settings",
    # Not the checkout's .env (a local installation keeps its generated key there).
    "ENV_FILE": os.devnull,
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_without_a_secret_key_and_debug_off_start_up_fails_clearly():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_an_unknown_tasks_backend_fails_at_start_up():
    result = manage("check", env={**PRODUCTION_ENV, "TASKS_BACKEND": "celery"})

    assert result.returncode != 0
    assert "TASKS_BACKEND must be one of" in result.stderr


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]


def preflight(client, origin: str):
    return client.options(
        reverse("users:login"),
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )


@pytest.mark.django_db
def test_cors_allows_a_listed_origin_without_credentials(api_client, cors):
    response = preflight(api_client, "https://app.example.com")

    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.django_db
def test_cors_refuses_any_other_origin(api_client, cors):
    response = preflight(api_client, "https://evil.example.com")

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_cors_headers_are_on_error_responses_too(api_client, cors):
    response = api_client.get(reverse("users:me"), HTTP_ORIGIN="https://app.example.com")

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"


def load_gunicorn_config(monkeypatch, **env):
    for name in list(os.environ):
        if name in {"PORT", "HOST", "FORWARDED_ALLOW_IPS"} or name.startswith(
            ("GUNICORN_", "WEB_CONCURRENCY", "RENDER")
        ):
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_config", ROOT / "gunicorn_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gunicorn_defaults_from_a_bare_environment(monkeypatch):
    config = load_gunicorn_config(monkeypatch)

    assert config.bind == "0.0.0.0:8000"
    assert (config.workers, config.worker_class, config.threads) == (1, "gthread", 4)
    assert (config.timeout, config.graceful_timeout) == (120, 25)
    assert (config.max_requests, config.max_requests_jitter) == (1000, 100)
    assert config.worker_tmp_dir == ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    assert config.accesslog == "-"
    assert config.control_socket_disable is True
    assert config.forwarded_allow_ips == ""


def test_gunicorn_trusts_forwarded_headers_from_renders_private_network_on_render(monkeypatch):
    config = load_gunicorn_config(monkeypatch, RENDER_EXTERNAL_HOSTNAME="primepre.onrender.com")

    assert config.forwarded_allow_ips == "10.0.0.0/8"


def test_gunicorn_trusts_forwarded_headers_from_the_proxies_the_setting_names(monkeypatch):
    config = load_gunicorn_config(
        monkeypatch, FORWARDED_ALLOW_IPS="192.0.2.10,198.51.100.0/24", RENDER="true"
    )

    assert config.forwarded_allow_ips == "192.0.2.10,198.51.100.0/24"


@pytest.mark.django_db
def test_a_clients_own_x_forwarded_proto_does_not_skip_the_https_redirect(api_client, settings):
    # given the HTTPS redirect on, and a client that claims to have come through a TLS proxy
    settings.SECURE_SSL_REDIRECT = True

    # when it calls over plain HTTP with X-Forwarded-Proto: https
    response = api_client.get("/api/auth/me/", HTTP_X_FORWARDED_PROTO="https")

    # then it is still sent to https: only the server (gunicorn, for a proxy it trusts) says
    # whether a request came over TLS
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_a_request_the_server_marked_https_is_not_redirected(api_client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = api_client.get("/api/auth/me/", secure=True)

    assert response.status_code == 401


def test_gunicorn_values_come_from_the_environment(monkeypatch):
    config = load_gunicorn_config(
        monkeypatch, PORT="10000", WEB_CONCURRENCY="3", GUNICORN_THREADS="8", GUNICORN_TIMEOUT="60"
    )

    assert config.bind == "0.0.0.0:10000"
    assert (config.workers, config.threads, config.timeout) == (3, 8, 60)


def test_gunicorn_worker_hooks_log_pid_and_rss(monkeypatch):
    config = load_gunicorn_config(monkeypatch)
    lines = []

    class Log:
        def info(self, message, *args):
            lines.append(message % args)

    class Worker:
        pid = os.getpid()

    server = type("Server", (), {"log": Log()})()
    config.post_fork(server, Worker())
    config.worker_exit(server, Worker())

    assert lines[0].startswith(f"[WORKER-SPAWN] pid={os.getpid()} rss_mb=")
    assert lines[1].startswith(f"[WORKER-EXIT] pid={os.getpid()} rss_mb=")


def test_log_lines_are_one_line_with_the_request_id():
    record = logging.LogRecord("users", logging.INFO, __file__, 1, "[TAG] a=1\nb=2", (), None)
    record.request_id = "abc123"

    line = OneLineFormatter().format(record)

    assert line == "[TAG] a=1 | b=2 level=INFO logger=users request_id=abc123"


def test_phones_and_emails_are_masked_in_any_log_line():
    text = "Key (phone)=(+233241234567) and kwame@example.com, job=8c239215521e-4f"

    assert redact(text) == "Key (phone)=([phone]) and [email], job=8c239215521e-4f"


@pytest.mark.django_db(transaction=True)
def test_an_import_logs_no_customer_data(staff, caplog):
    caplog.set_level(logging.DEBUG)
    rows = [
        customer_record(1, first_name="Abenaa", last_name="Quarcoopome", email="abenaa@mail.gh"),
        customer_record(2, phone="not-a-phone", first_name="Yoofi"),
    ]

    run(queue(preview(staff, rows)))

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "[IMPORT-DONE]" in logged
    for secret in ("Abenaa", "Quarcoopome", "abenaa@mail.gh", "241000001", "not-a-phone", "Yoofi"):
        assert secret not in logged


def test_an_empty_setting_takes_its_default_as_in_a_copy_of_the_env_example():
    blanks = dict.fromkeys(
        ("DATABASE_URL", "SQLITE_PATH", "CACHE_URL", "NUM_PROXIES", "IMPORT_MAX_ROWS"), ""
    )

    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, **blanks}
    )

    assert result.returncode == 0, result.stderr


def _manage_output(*args: str, code: str | None = None) -> str:
    """What a process of this project prints with DEBUG on and no SMS settings."""
    env = {**os.environ, "DEBUG": "1", "TWILIO_ACCOUNT_SID": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


def test_a_management_command_does_not_warn_that_sms_is_off():
    assert "[SMS-DISABLED]" not in _manage_output("check")


def test_a_serving_process_warns_once_that_sms_is_off():
    code = "import primepre.wsgi"

    assert _manage_output(code=code).count("[SMS-DISABLED]") == 1


def secret_key_of(env_file: Path) -> subprocess.CompletedProcess:
    """SECRET_KEY as settings make it, with DEBUG on, no key set, and `env_file` as .env."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "1",
        "ENV_FILE": str(env_file),
        "DJANGO_SETTINGS_MODULE": "primepre.settings",
    }
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SECRET_KEY)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_with_debug_on_and_no_key_each_installation_gets_its_own_random_key(tmp_path):
    # given two installations with DEBUG on and no SECRET_KEY (one .env as .env.example has it)
    first_env = tmp_path / "first.env"
    first_env.write_text("DEBUG=1\nSECRET_KEY=\n")
    second_env = tmp_path / "second.env"

    # when each starts, and the first starts again
    first = secret_key_of(first_env).stdout.strip()
    again = secret_key_of(first_env).stdout.strip()
    second = secret_key_of(second_env).stdout.strip()

    # then each has a long random key, kept in its .env, not one written in the repository
    assert len(first) >= 50
    assert len(second) >= 50
    assert first == again
    assert first != second
    assert f"SECRET_KEY={first}" in first_env.read_text()
    assert first not in (ROOT / "primepre" / "settings.py").read_text()


def test_with_debug_on_and_no_place_to_keep_a_key_start_up_fails_clearly(tmp_path):
    result = secret_key_of(tmp_path / "missing-folder" / ".env")

    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _grown_worker(config, *, grown_mb: float, open_connections: int) -> tuple[ThreadWorker, _Lines]:
    """gunicorn's threaded worker (the one gunicorn_config.py runs) as the hooks see it: this
    process, started by `config`'s hooks, its RSS grown by `grown_mb` since, with
    `open_connections` connections open."""
    lines = _Lines()
    log = logging.getLogger("tests.growing_worker")
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    worker = ThreadWorker(0, os.getppid(), [], None, 30, GunicornConfig(), log)
    worker.pid = os.getpid()
    worker.alive = True
    worker.nr_conns = open_connections
    worker.method_queue.init()
    config.post_worker_init(worker)
    worker.rss_at_start_mb -= grown_mb
    return worker, lines


def _replaced(worker: ThreadWorker, within_s: float = 5.0) -> bool:
    """Whether the worker stops taking requests within `within_s` (its replacement is decided
    on a thread of its own)."""
    deadline = time.monotonic() + within_s
    while worker.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    return not worker.alive


@pytest.mark.parametrize(
    ("grown_mb", "env", "replaced"),
    [
        (40, {}, True),
        (4, {}, False),
        (40, {"GUNICORN_MAX_WORKER_GROWTH_MB": "64"}, False),
        (40, {"GUNICORN_MAX_WORKER_GROWTH_MB": "0"}, False),
    ],
    ids=["grown", "not grown enough", "higher limit", "off"],
)
def test_a_web_worker_that_grew_is_replaced_once_idle(monkeypatch, grown_mb, env, replaced):
    # given a worker whose RSS grew by grown_mb since the app was loaded (a large preview leaves
    # Python's arenas partly used, and the next upload's reader needs that memory)
    config = load_gunicorn_config(monkeypatch, GUNICORN_RECYCLE_IDLE_S="0.2", **env)
    worker, log = _grown_worker(config, grown_mb=grown_mb, open_connections=1)

    # when a request ends, and its connection closes
    config.post_request(worker, None, {}, None)
    worker.nr_conns = 0

    # then the worker stops taking requests (gunicorn starts a new one) only past the limit,
    # once idle, and says so
    assert _replaced(worker, within_s=1.0 if replaced else 0.6) is replaced
    recycled = [line for line in log.lines if line.startswith("[WORKER-RECYCLE] pid=")]
    assert len(recycled) == (1 if replaced else 0)


def test_a_grown_web_worker_is_not_replaced_while_a_connection_is_open(monkeypatch):
    # given a grown worker with another connection open after a request (another admin's
    # upload still arriving, or a kept-alive connection)
    config = load_gunicorn_config(monkeypatch, GUNICORN_RECYCLE_IDLE_S="0.1")
    worker, _ = _grown_worker(config, grown_mb=40, open_connections=2)
    config.post_request(worker, None, {}, None)
    worker.nr_conns = 1

    # when it has been idle past the limit, the connection still open
    # then it keeps taking requests; once that connection closes it is replaced
    assert not _replaced(worker, within_s=0.5)
    worker.nr_conns = 0
    assert _replaced(worker)


def test_a_grown_web_worker_is_not_replaced_while_requests_keep_coming(monkeypatch):
    # given a grown worker (the SPA polls an import's status every 2 s)
    config = load_gunicorn_config(monkeypatch, GUNICORN_RECYCLE_IDLE_S="0.3")
    worker, _ = _grown_worker(config, grown_mb=40, open_connections=0)

    # when a request ends every 0.1 s for a second
    for _ in range(10):
        config.post_request(worker, None, {}, None)
        time.sleep(0.1)
        assert worker.alive

    # then it is replaced only once they stop
    assert _replaced(worker)
