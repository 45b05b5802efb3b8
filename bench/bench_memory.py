"""Memory under a real cap: the web (gunicorn master, its worker and the spreadsheet reader child)
and the task worker run together in one memory cgroup limited to 512 MB, as on a 512 MB instance,
through 100,000-row imports (upload -> preview -> confirm -> COMPLETE) of new customers one after
the other, and then an export of them all downloaded as xlsx and as CSV through the API.

    .venv/bin/python bench/bench_memory.py [--rows 100000] [--imports 2] [--cap-mb 512]

The cap is a memory cgroup (v1 or v2) made for the run: going over it gets a process killed by
the kernel, which the table reports. Where no cgroup can be made (not Linux, not root, no memory
controller), nothing is enforced: the script says so and only samples RSS.

Per phase: peak RSS of the web tree and of the worker, and of both together (psutil, every 50 ms),
the cgroup's own peak (which also counts page cache: uploaded and spooled files), and whether
the kernel killed anything.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import psutil
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    BENCH_DB,
    PYTHON,
    ROOT,
    RssSampler,
    confirm,
    free_port,
    login,
    prepared_database,
    print_table,
    status,
    upload,
    wait_for,
    xlsx_file,
)

DATABASE = BENCH_DB + "_memory"
BUDGET_MB = 350  # docs/deploying.md: web + worker during a 100,000-row import
PEAK_TARGET_MB = 250  # web + worker + reader during a 100,000-row import
REST_TARGET_MB = 10  # the web worker at rest after the imports, above its start
CGROUP_ROOT = Path("/sys/fs/cgroup")
MIB = 1024 * 1024


class MemoryCap:
    """A memory cgroup of our own with a hard limit; processes join it as they start."""

    def __init__(self, path: Path, version: int):
        self.path = path
        self.version = version

    @classmethod
    def create(cls, limit_mb: int) -> "MemoryCap | None":
        name = f"primepre-bench-{os.getpid()}"
        limit = str(limit_mb * MIB)
        candidates = [(CGROUP_ROOT / "memory" / name, 1), (CGROUP_ROOT / name, 2)]
        for path, version in candidates:
            try:
                if version == 1:
                    if not (path.parent / "memory.limit_in_bytes").exists():
                        continue
                    path.mkdir()
                    (path / "memory.limit_in_bytes").write_text(limit)
                    with contextlib.suppress(OSError):
                        (path / "memory.memsw.limit_in_bytes").write_text(limit)
                else:
                    if "memory" not in (path.parent / "cgroup.subtree_control").read_text():
                        continue
                    path.mkdir()
                    (path / "memory.max").write_text(limit)
                    with contextlib.suppress(OSError):
                        (path / "memory.swap.max").write_text("0")
            except OSError:
                with contextlib.suppress(OSError):
                    path.rmdir()
                continue
            return cls(path, version)
        return None

    def command(self, argv: list[str]) -> list[str]:
        """argv run inside the cgroup: a shell joins it, then execs (the pid stays the same)."""
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs"), *argv]

    def _read(self, name: str) -> str:
        return (self.path / name).read_text()

    def peak_mb(self) -> float:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int(self._read(name)) / MIB
        except (OSError, ValueError):
            return float("nan")

    def reset_peak(self) -> None:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        with contextlib.suppress(OSError):
            (self.path / name).write_text("0")

    def oom_kills(self) -> int:
        text = self._read("memory.oom_control" if self.version == 1 else "memory.events")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


@contextlib.contextmanager
def capped_stack(env: dict, cap: MemoryCap | None):
    """gunicorn (gunicorn_config.py) and one task worker, inside the cap when there is one."""
    port = free_port()
    stack_env = {**env, "PORT": str(port), "HOST": "127.0.0.1", "GUNICORN_ACCESS_LOG": ""}

    def start(argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            cap.command(argv) if cap else argv,
            cwd=ROOT,
            env=stack_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    web = start([PYTHON, "-m", "gunicorn", "primepre.wsgi", "-c", "gunicorn_config.py"])
    worker = start([PYTHON, "manage.py", "run_worker", "--interval", "0.1"])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/api/health/")
        yield base, web, worker
    finally:
        for process in (web, worker):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_import(base: str, auth: dict, path: Path) -> str:
    preview = upload(base, auth, path)
    if preview.status_code != 200:
        return f"upload answered {preview.status_code}"
    confirmed = confirm(base, auth, preview.json()["upload_id"])
    if confirmed.status_code != 202:
        return f"confirm answered {confirmed.status_code}"
    while True:
        state = status(base, auth, confirmed.json()["task_id"])
        if state["is_finished"]:
            return f"{state['status']}: {state['created']:,} created"
        time.sleep(0.5)


def web_worker(web: subprocess.Popen) -> psutil.Process | None:
    """gunicorn's worker (the master's one child once the reader process has ended)."""
    children = psutil.Process(web.pid).children()
    return children[0] if len(children) == 1 else None


def worker_at_rest(web: subprocess.Popen, settle_s: float = 8.0) -> tuple[int, float]:
    """The web worker's pid and RSS in MB once an import is done and nothing runs: sampled
    after settle_s, when a worker grown past GUNICORN_MAX_WORKER_GROWTH_MB has been replaced
    (a new pid: after GUNICORN_RECYCLE_IDLE_S, 5 s, without a request, and its successor's
    start) and the reader process is gone."""
    time.sleep(settle_s)
    deadline = time.monotonic() + 30
    while (worker := web_worker(web)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn has no single worker at rest")
        time.sleep(0.1)
    return worker.pid, worker.memory_info().rss / MIB


def run_export(base: str, auth: dict, file_format: str) -> str:
    size = 0
    with requests.get(
        base + "/api/auth/customers/export/",
        headers=auth,
        params={"format": file_format},
        stream=True,
        timeout=600,
    ) as response:
        if response.status_code != 200:
            return f"answered {response.status_code}: {response.text[:120]}"
        for piece in response.iter_content(64 * 1024):
            size += len(piece)
    return f"200, {size / MIB:.1f} MiB"


def measure_phase(name: str, action, web, worker, cap: MemoryCap | None) -> list[str]:
    """Runs one phase and returns its row: peaks of web, worker and both, the cgroup's peak,
    the kernel's kills, and the phase's outcome."""
    if cap:
        cap.reset_peak()
    kills_before = cap.oom_kills() if cap else 0
    started = time.monotonic()
    with (
        RssSampler([web.pid]) as web_rss,
        RssSampler([worker.pid]) as worker_rss,
        RssSampler([web.pid, worker.pid]) as both,
    ):
        try:
            outcome = action()
        except requests.RequestException as error:
            outcome = f"failed: {type(error).__name__}"
    killed = (cap.oom_kills() - kills_before) if cap else 0
    return [
        name,
        f"{time.monotonic() - started:.1f}",
        f"{web_rss.peak:.0f}",
        f"{worker_rss.peak:.0f}",
        f"{both.peak:.0f}",
        f"{cap.peak_mb():.0f}" if cap else "not enforced",
        str(killed) if cap else "-",
        outcome,
    ]


def print_rest(rest: list[tuple[str, int, float]], peaks: list[float]) -> None:
    """The web worker at rest after each import beside its start, and the imports' peak,
    each beside its target."""
    start_mb = rest[0][2]
    rows = []
    for name, pid, mb in rest:
        grown = mb - start_mb
        rows.append(
            [
                name,
                str(pid),
                f"{mb:.0f}",
                f"{grown:+.0f}",
                f"<= +{REST_TARGET_MB}",
                "yes" if grown <= REST_TARGET_MB else "no",
            ]
        )
    peak = max(peaks)
    rows.append(
        [
            "peak web + worker + reader, imports",
            "-",
            f"{peak:.0f}",
            "-",
            f"<= {PEAK_TARGET_MB}",
            "yes" if peak <= PEAK_TARGET_MB else "no",
        ]
    )
    print_table(
        "The web worker at rest (a new pid: gunicorn replaced it), and the imports' peak",
        ["when", "web worker pid", "RSS MB", "since start MB", "target", "met"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cap-mb", type=int, default=512)
    # Imports of new customers one after the other: the later ones show what the first left.
    parser.add_argument("--imports", type=int, default=3)
    parser.add_argument("--no-export", action="store_true", help="the imports only")
    args = parser.parse_args()

    load_at_start = os.getloadavg()[0]
    env, password = prepared_database(DATABASE)
    files = [
        xlsx_file(args.rows, phone_start=2_000_000 + n * args.rows) for n in range(args.imports)
    ]
    total = args.rows * args.imports

    cap = MemoryCap.create(args.cap_mb)
    table = []
    rest: list[tuple[str, int, float]] = []
    import_peaks: list[float] = []
    try:
        with capped_stack(env, cap) as (base, web, worker):
            auth = login(base, password)
            resting = [RssSampler(pids).current() for pids in ([web.pid], [worker.pid])]
            table.append(
                ["at rest", "-", *(f"{mb:.0f}" for mb in (*resting, sum(resting))), "-", "-", "up"]
            )
            rest.append(("at start (after sign-in)", *worker_at_rest(web, settle_s=0)))
            for n, path in enumerate(files):
                name = (
                    f"import {args.rows:,} rows (upload -> COMPLETE)"
                    if n == 0
                    else f"import {n + 1} of {args.rows:,} rows"
                )
                row = measure_phase(name, partial(run_import, base, auth, path), web, worker, cap)
                table.append(row)
                import_peaks.append(float(row[4]))
                rest.append((f"after import {n + 1}", *worker_at_rest(web)))
            if not args.no_export:
                for file_format in ("xlsx", "csv"):
                    action = partial(run_export, base, auth, file_format)
                    name = f"export {total:,} customers, {file_format}"
                    table.append(measure_phase(name, action, web, worker, cap))
    finally:
        if cap:
            cap.remove()

    where = (
        f"in a memory cgroup (v{cap.version}) capped at {args.cap_mb} MB"
        if cap
        else "with NO cap enforced (no memory cgroup could be made here): RSS sampled only"
    )
    print_table(
        f"Memory: web + task worker {where}; Postgres; {os.cpu_count()} cores",
        [
            "phase",
            "seconds",
            "peak RSS web MB",
            "peak RSS worker MB",
            "peak RSS web+worker MB",
            "cgroup peak MB (incl. page cache)",
            "OOM kills",
            "result",
        ],
        table,
    )
    print(
        f"\nweb = gunicorn master + worker + reader child; budget for web + worker during an "
        f"import: {BUDGET_MB} MB (docs/deploying.md). Load average {load_at_start:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end.\n"
    )
    print_rest(rest, import_peaks)


if __name__ == "__main__":
    main()
