"""Shared pieces of the benchmarks: a scratch Postgres database, the real server and worker as
subprocesses, generated spreadsheets, RSS sampling and a table printer."""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "primepre_bench")

FIRST = ["Kwame", "Ama", "Kofi", "Akosua", "Yaw", "Abena", "Kwabena", "Efua", "Kojo", "Adwoa"]
LAST = ["Mensah", "Owusu", "Boateng", "Asante", "Osei", "Agyeman", "Appiah", "Darko", "Addo"]
REGIONS = ["Greater Accra", "Ashanti", "Volta", "Central", "Eastern", "Northern", "Western"]


def database_url(name: str = BENCH_DB) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def recreate_database(name: str = BENCH_DB) -> str:
    import psycopg2

    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return database_url(name)


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "primepre.settings",
        **extra,
    }


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_stack(env: dict, *, workers: int = 1):
    """gunicorn (gunicorn_config.py) and `workers` task workers; yields (base_url, processes)."""
    port = free_port()
    stack_env = {**env, "PORT": str(port), "HOST": "127.0.0.1", "GUNICORN_ACCESS_LOG": ""}
    # BENCH_LOGS=folder keeps each process's output there (its log lines) instead of dropping it.
    logs = os.environ.get("BENCH_LOGS")

    def output(name: str):
        if not logs:
            return subprocess.DEVNULL
        return open(os.path.join(logs, f"{name}.log"), "ab")

    web = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "primepre.wsgi", "-c", "gunicorn_config.py"],
        cwd=ROOT,
        env=stack_env,
        stdout=output("web"),
        stderr=subprocess.STDOUT,
    )
    queue_workers = [
        subprocess.Popen(
            [PYTHON, "manage.py", "run_worker"],
            cwd=ROOT,
            env=stack_env,
            stdout=output(f"worker-{n}"),
            stderr=subprocess.STDOUT,
        )
        for n in range(workers)
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/api/health/")
        yield base, {"web": web, "workers": queue_workers}
    finally:
        for process in [web, *queue_workers]:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in [web, *queue_workers]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def tree_rss_mb(process: psutil.Process) -> float:
    """RSS of a process and all its descendants (gunicorn workers, reader children)."""
    total = 0
    try:
        procs = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total / 1024 / 1024


class RssSampler:
    """Samples the summed RSS of some process trees every `period` seconds; keeps the peak."""

    def __init__(self, pids: list[int], period: float = 0.05):
        self.processes = [psutil.Process(pid) for pid in pids]
        self.period = period
        self.peak = 0.0
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = sum(tree_rss_mb(p) for p in self.processes)
            self.samples.append(now)
            self.peak = max(self.peak, now)
            time.sleep(self.period)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def current(self) -> float:
        return sum(tree_rss_mb(p) for p in self.processes)


def customer_rows(count: int, *, phone_start: int, seed: int | None = None) -> list[list]:
    """Realistic rows in the template's columns; phones are distinct valid Ghana mobiles. The
    names are drawn afresh for each phone_start (the seed): with one seed for every workbook,
    row n of each held the same names as row n of the others, its phone one digit apart (the
    workbooks start 10,000 or 100,000 apart), and the near-duplicate check rightly flagged every
    row of a second workbook as the first's customer again."""
    rng = random.Random(phone_start if seed is None else seed)
    rows = []
    for n in range(count):
        first = rng.choice(FIRST)
        rows.append(
            [
                f"PM B{phone_start + n}",
                first,
                rng.choice(LAST),
                f"{first.lower()}.{phone_start + n}@example.com",
                f"024{phone_start + n:07d}",
                rng.choice(REGIONS),
                "",
                "",
            ]
        )
    return rows


HEADERS = [
    "Shipping Mark",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Region",
    "Company Name",
    "Nickname",
]


def _cached_workbook(name: str, rows: list[list]) -> Path:
    """bench/out/NAME: a workbook of HEADERS and `rows`, written once."""
    from openpyxl import Workbook

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    if path.exists():
        return path
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Customers")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def update_xlsx_file(count: int, *, phone_start: int) -> Path:
    """The workbook xlsx_file(count, phone_start) makes, with every second row changing two
    fields (last name and region): an update of the customers that workbook created."""
    rows = customer_rows(count, phone_start=phone_start)
    for row in rows[::2]:
        row[2] = "Changed" + row[2]
        row[5] = "Upper West" if row[5] != "Upper West" else "Oti"
    return _cached_workbook(f"customers-update-{count}-{phone_start}-names.xlsx", rows)


def xlsx_file(count: int, *, phone_start: int) -> Path:
    """A generated customers workbook (cached under bench/out/)."""
    return _cached_workbook(
        f"customers-{count}-{phone_start}-names.xlsx", customer_rows(count, phone_start=phone_start)
    )


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in [h, *(r[i] for r in rows)]) for i, h in enumerate(headers)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) + " |")


LOCAL_ADMIN_PHONE = "0200000001"
UPLOAD = "/api/auth/customers/excel/upload/"
CONFIRM = "/api/auth/customers/excel/bulk-create/"


def prepared_database(name: str = BENCH_DB) -> tuple[dict, str]:
    """A fresh database, migrated, with the local admin: (environment, admin password)."""
    env = env_for(recreate_database(name))
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    password = manage(env, "ensure_local_admin").split("Password: ")[1].split()[0]
    return env, password


def login(base: str, password: str, phone: str = LOCAL_ADMIN_PHONE) -> dict[str, str]:
    """Authorization headers for the API."""
    response = requests.post(
        base + "/api/auth/login/", json={"phone": phone, "password": password}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": "Bearer " + response.json()["tokens"]["access"]}


def upload(base: str, auth: dict, path: Path, **options: str):
    """POSTs the file (with the upload's options: mode, match...) to the upload endpoint;
    returns the response (the preview)."""
    with open(path, "rb") as handle:
        return requests.post(
            base + UPLOAD,
            headers=auth,
            files={"file": (path.name, handle)},
            data=options,
            timeout=600,
        )


def confirm(base: str, auth: dict, upload_id: str):
    return requests.post(base + CONFIRM, headers=auth, json={"upload_id": upload_id}, timeout=60)


def status(base: str, auth: dict, task_id: str) -> dict:
    url = f"{base}{CONFIRM}status/{task_id}/"
    return requests.get(url, headers=auth, timeout=60).json()
