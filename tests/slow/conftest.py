"""The real thing for the slow tests: a fresh Postgres database, migrations, a staff and a customer
account, gunicorn started with gunicorn_config.py, and task workers (`manage.py run_worker`) that a
test starts, signals and kills one by one.

Everything is driven from outside, as production would see it: HTTP to the server, signals to the
processes, SQL (psycopg2) to look at what was stored. Skipped when no Postgres answers on
127.0.0.1:5432 (BENCH_ADMIN_DATABASE_URL chooses another server)."""

import contextlib
import itertools
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg2
import pytest
import requests

from bench.common import (
    ADMIN_URL,
    PYTHON,
    ROOT,
    database_url,
    env_for,
    free_port,
    manage,
    recreate_database,
    wait_for,
)
from tests.conftest import missing_service

STAFF_PHONE = "0200000001"
CUSTOMER_PHONE = "0249999001"
CUSTOMER_PASSWORD = "Customer-pass-7319"
# A killed worker's job is taken up again after this many seconds without a heartbeat.
STALE_AFTER_S = 4
# Hang guards: a job or a process that has not got there by then has failed.
JOB_DEADLINE_S = 300
PROCESS_DEADLINE_S = 60
POLL_S = 0.05

_names = itertools.count(1)


def postgres_problem() -> str | None:
    """Why the slow tests cannot run here, or None when Postgres answers."""
    try:
        psycopg2.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg2.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        return f"PostgreSQL does not answer at {ADMIN_URL} ({first_line})"
    return None


def drop_database(name: str) -> None:
    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


@dataclass
class Account:
    phone: str
    password: str


@dataclass
class Responses:
    """Every status code the server answered with, for the "no 5xx" assertions."""

    codes: list[tuple[str, int]] = field(default_factory=list)

    def server_errors(self) -> list[tuple[str, int]]:
        return [(what, code) for what, code in self.codes if code >= 500]


class Api:
    """One signed-in client of the real server; every answer is recorded in `responses`."""

    def __init__(self, base: str, account: Account, responses: Responses):
        self.base = base
        self.responses = responses
        self.session = requests.Session()
        answer = self.session.post(
            base + "/api/auth/login/",
            json={"phone": account.phone, "password": account.password},
            timeout=30,
        )
        self._record("POST /api/auth/login/", answer)
        assert answer.status_code == 200, answer.text
        self.session.headers["Authorization"] = "Bearer " + answer.json()["tokens"]["access"]

    def _record(self, what: str, answer: requests.Response) -> requests.Response:
        self.responses.codes.append((what, answer.status_code))
        return answer

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        answer = self.session.get(self.base + path, **kwargs)
        return self._record(f"GET {path.split('?')[0]}", answer)

    def post(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self._record(f"POST {path}", self.session.post(self.base + path, **kwargs))

    def upload(self, path: Path) -> requests.Response:
        with open(path, "rb") as handle:
            return self.post(
                "/api/auth/customers/excel/upload/",
                files={"file": (path.name, handle)},
                timeout=600,
            )

    def confirm(self, upload_id: str) -> str:
        answer = self.post("/api/auth/customers/excel/bulk-create/", json={"upload_id": upload_id})
        assert answer.status_code == 202, answer.text
        return answer.json()["task_id"]

    def import_file(self, path: Path) -> tuple[str, dict]:
        """Uploads and confirms a file; (task id, preview summary)."""
        preview = self.upload(path)
        assert preview.status_code == 200, preview.text
        body = preview.json()
        return self.confirm(body["upload_id"]), body["summary"]

    def status(self, task_id: str) -> dict:
        answer = self.get(f"/api/auth/customers/excel/bulk-create/status/{task_id}/")
        assert answer.status_code == 200, answer.text
        return answer.json()


class JobWatch:
    """Polls one job's status and keeps every progress_percent it was shown, in order."""

    def __init__(self, api: Api, task_id: str):
        self.api = api
        self.task_id = task_id
        self.progress: list[int] = []
        self.last: dict = {}

    def poll(self) -> dict:
        self.last = self.api.status(self.task_id)
        self.progress.append(self.last["progress_percent"])
        return self.last

    def until(self, condition: Callable[[dict], bool], *, what: str) -> dict:
        deadline = time.monotonic() + JOB_DEADLINE_S
        while time.monotonic() < deadline:
            body = self.poll()
            if condition(body):
                return body
            if body["is_finished"]:
                raise AssertionError(f"the job finished before {what}: {body['status']}")
            time.sleep(POLL_S)
        raise AssertionError(f"no {what} within {JOB_DEADLINE_S} s; last status {self.last}")

    def start_worker_once_answered(self, stack: "LiveStack") -> subprocess.Popen:
        """Starts the task worker once the web answers this job's status. A web worker that an
        upload grew past GUNICORN_MAX_WORKER_GROWTH_MB is replaced once idle, and on a busy
        machine the new one can take longer to start than a 30,000-row job takes to run; the
        test must see the job midway."""
        self.poll()
        return stack.start_worker()

    def until_between(self, low: int, high: int) -> dict:
        return self.until(
            lambda body: low <= body["progress_percent"] <= high,
            what=f"progress between {low}% and {high}%",
        )

    def until_finished(self) -> dict:
        return self.until(lambda body: body["is_finished"], what="the end of the job")

    def progress_went_back(self) -> list[tuple[int, int]]:
        return [(a, b) for a, b in itertools.pairwise(self.progress) if b < a]


def command_line(process: psutil.Process) -> list[str]:
    """The process's command line, or [] once it has exited (or is a zombie)."""
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


class LiveStack:
    """gunicorn + task workers on a database of their own. Use as a context manager."""

    def __init__(self, logs: Path, *, label: str, **env: str):
        self.label = label
        self.database = f"primepre_slow_{os.getpid()}_{next(_names)}"
        self.logs = logs
        self.env_extra = {
            "IMPORT_STALE_AFTER": str(STALE_AFTER_S),
            "LOG_LEVEL": "INFO",
            "GUNICORN_ACCESS_LOG": "",
            **env,
        }
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.responses = Responses()
        self._worker_numbers = itertools.count(1)
        self._files: list = []

    # --- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> "LiveStack":
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        url = recreate_database(self.database)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env_for(url, PORT=str(self.port), HOST="127.0.0.1", **self.env_extra)
        manage(self.env, "migrate", "--noinput")
        manage(self.env, "createcachetable")
        printed = manage(self.env, "ensure_local_admin", "--phone", STAFF_PHONE)
        self.staff = Account(STAFF_PHONE, printed.split("Password: ")[1].split()[0])
        self.customer = self.create_user(CUSTOMER_PHONE, CUSTOMER_PASSWORD, role="CUSTOMER")
        self.start_web()

    def __exit__(self, *exc_info) -> None:
        for process in [*self.workers, self.web]:
            if process is not None:
                stop(process, signal.SIGTERM)
        for handle in self._files:
            handle.close()
        drop_database(self.database)

    def _log(self, name: str):
        handle = open(self.logs / f"{self.label}-{name}.log", "ab")  # noqa: SIM115
        self._files.append(handle)
        return handle

    def start_web(self) -> subprocess.Popen:
        log = self._log("web")
        self.web = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "primepre.wsgi", "-c", "gunicorn_config.py"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.base + "/api/health/")
        return self.web

    def start_worker(self) -> subprocess.Popen:
        number = next(self._worker_numbers)
        log = self._log(f"worker{number}")
        worker = subprocess.Popen(
            [PYTHON, "manage.py", "run_worker", "--interval", "0.1"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        return worker

    def web_workers(self) -> list[psutil.Process]:
        """gunicorn's live worker processes (the master's children; a killed one is a zombie
        until the master reaps it)."""
        return [
            child
            for child in psutil.Process(self.web.pid).children()
            if "gunicorn" in " ".join(command_line(child))
        ]

    def wait_for_new_web_worker(self, gone: int) -> psutil.Process:
        deadline = time.monotonic() + PROCESS_DEADLINE_S
        while time.monotonic() < deadline:
            fresh = [worker for worker in self.web_workers() if worker.pid != gone]
            if fresh:
                wait_for(self.base + "/api/health/")
                return fresh[0]
            time.sleep(0.1)
        raise AssertionError("gunicorn started no new worker")

    def print_logs(self) -> None:
        for handle in self._files:
            handle.flush()
            path = Path(handle.name)
            lines = path.read_text(errors="replace").splitlines()[-60:]
            print(f"\n--- {path.name} (last {len(lines)} lines)\n" + "\n".join(lines))

    # --- accounts and clients ----------------------------------------------------------------

    def create_user(self, phone: str, password: str, *, role: str) -> Account:
        manage(
            self.env,
            "shell",
            "-c",
            "from users.customers.services import user_create; "
            f"user_create(phone={phone!r}, password={password!r}, first_name='Slow', "
            f"last_name='Test', user_role={role!r}, is_verified=True)",
        )
        return Account(phone, password)

    def api(self, account: Account | None = None) -> Api:
        return Api(self.base, account or self.staff, self.responses)

    # --- the database, seen from outside ----------------------------------------------------

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        connection = psycopg2.connect(database_url(self.database))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def scalar(self, query: str, params: tuple = ()):
        return self.sql(query, params)[0][0]

    def terminate_connections(self) -> int:
        """pg_terminate_backend on every connection to this stack's database."""
        connection = psycopg2.connect(ADMIN_URL)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database,),
                )
                return cursor.fetchone()[0]
        finally:
            connection.close()

    def customers_of(self, task_id: str) -> int:
        return self.scalar(
            "SELECT count(*) FROM users_user WHERE user_role = 'CUSTOMER' AND import_job_id = %s",
            (task_id,),
        )

    def customers(self) -> int:
        return self.scalar("SELECT count(*) FROM users_user WHERE user_role = 'CUSTOMER'")

    def jobs_not_finished(self) -> list[tuple]:
        return self.sql(
            "SELECT id, status FROM users_importjob WHERE status IN ('QUEUED', 'RUNNING')"
        )

    def jobs_with_missing_rows(self) -> list[tuple]:
        """Jobs whose stored rows do not add up to the rows the job says it has."""
        return self.sql(
            "SELECT job.id, job.status, job.total_rows, COALESCE(sum(stored.n), 0) "
            "FROM users_importjob job LEFT JOIN ("
            "  SELECT job_id, count(*) AS n FROM users_importstagedrow GROUP BY job_id"
            ") stored ON stored.job_id = job.id "
            "GROUP BY job.id HAVING job.total_rows <> COALESCE(sum(stored.n), 0)"
        )

    def job_row(self, task_id: str) -> dict:
        names = ["status", "total_rows", "created_count", "failed_count", "checkpoint", "attempts"]
        values = self.sql(
            "SELECT status, total_rows, created_count, failed_count, checkpoint, attempts "
            "FROM users_importjob WHERE id = %s",
            (task_id,),
        )
        return dict(zip(names, values[0], strict=True))


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    """Signals a process and waits for it to exit (SIGKILL after PROCESS_DEADLINE_S)."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        return process.wait(timeout=PROCESS_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def wait_for_process_exit(process: psutil.Process) -> bool:
    """True once the process is gone (or a zombie nobody reaped), False at PROCESS_DEADLINE_S."""
    deadline = time.monotonic() + PROCESS_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def in_background(target: Callable[[], object]) -> tuple[threading.Thread, dict]:
    """Runs `target` on a thread; its return value or exception lands in the dict."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = target()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> str:
    problem = postgres_problem()
    if problem:
        missing_service(f"slow tests need PostgreSQL: {problem}")
    return ADMIN_URL


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_call_failed] = report.failed
    return report


_call_failed = pytest.StashKey[bool]()


@contextlib.contextmanager
def _stack(request, logs: Path, **env: str) -> Iterator[LiveStack]:
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:80]
    with LiveStack(logs, label=label, **env) as stack:
        yield stack
        if request.node.stash.get(_call_failed, False):
            stack.print_logs()


@pytest.fixture
def live_stack(postgres, request, tmp_path) -> Iterator[LiveStack]:
    """A fresh database and gunicorn, no task worker yet (the test starts its own)."""
    with _stack(request, tmp_path) as stack:
        yield stack


@pytest.fixture(scope="module")
def live_stack_for_module(postgres, request, tmp_path_factory) -> Iterator[LiveStack]:
    """One stack for a whole module, with a task worker and the throttles opened wide (a fuzzer
    is not a brute-force attack, and rows of 429s would test nothing behind them)."""
    env = {
        "LOGIN_RATE": "100000/min",
        "PASSWORD_RESET_RATE": "100000/min",
        "PASSWORD_RESET_MAX_PER_HOUR": "100000",
        "LOGIN_MAX_FAILURES": "100000",
    }
    with _stack(request, tmp_path_factory.mktemp("stack"), **env) as stack:
        stack.start_worker()
        yield stack
