"""Reader benchmark: what users.excel.reading costs on good files, and how fast it refuses hostile
ones, through open_rows on this machine (no database, no Django settings); then the two hostile
uploads that are small files but huge records or cells, sent to the real web worker.

    .venv/bin/python bench/bench_reader.py [--repeat 3] [--skip-web]

Prints three markdown tables. Times are the median of --repeat runs; every row is read and
dropped, as a consumer that keeps nothing would. Linux only, for the memory columns (measured on
one more run):
- parent RSS growth: this process's peak RSS during the run (VmHWM, reset before the run through
  /proc/self/clear_refs) minus its RSS before it;
- child peak RSS: the calamine child's VmHWM, sampled from /proc every millisecond while it runs,
  so a child that dies within a millisecond of its peak may be reported a little low ("-" when no
  child ran: CSV, and files refused before calamine).

The third table uploads each file of hostile_uploads() through the API to gunicorn
(gunicorn_config.py) on a fresh Postgres database (BENCH_DATABASE_NAME, as bench_import.py),
signed in as the local admin, after one small upload has warmed the worker. Web worker RSS
growth: the gunicorn worker's peak RSS while it answers (VmHWM, reset just before through
/proc/PID/clear_refs; the reader child is a process of its own and not counted) minus its RSS
before.
"""

import argparse
import contextlib
import gc
import importlib.metadata
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psutil
from openpyxl import Workbook

from bench.common import (
    HEADERS,
    customer_rows,
    login,
    prepared_database,
    print_table,
    running_stack,
    upload,
)
from tests.excel import builders
from users.errors import FileError
from users.excel.reading import open_rows

MIB = 1024 * 1024
ROW_COUNTS = (10_000, 100_000)


def hostile_files() -> dict[str, bytes]:
    """What each hostile file is -> its bytes. All are read with the default ReaderLimits."""
    return {
        "zip bomb, sheet inflates to 300 MB": builders.zip_bomb_xlsx(300),
        "zip bomb, sheet inflates to 1 GB": builders.zip_bomb_xlsx(1024),
        "declared size lies (2 KB declared, 50 MB inside)": builders.lying_size_xlsx(50),
        "compression ratio over 1000 (10 MB of spaces)": builders.ratio_bomb_xlsx(10),
        "sparse xlsx, A1 + XFD1048576": builders.sparse_xlsx(),
        "sparse xlsx, A1 + GR100000 (640 MB grid)": builders.sparse_xlsx(100_000, 200),
        "sparse xls, A1 + IV65536": builders.sparse_xls(),
        "sparse ods, A1 + XFD1048576 (repeated rows/cells)": builders.sparse_ods(),
        # About 8 MB: under max_bytes, so the member count is what refuses it.
        "zip64 with 70,000 members": builders.many_members_zip(70_000, zip64=True),
        "zip declaring 3 members, holding 2,000": builders.many_members_zip(2000, declared_count=3),
        "xlsx with DOCTYPE + ENTITY": builders.entity_xlsx("entity"),
        "xlsx with DOCTYPE, UTF-16": builders.entity_xlsx("doctype", encoding="utf-16-le"),
        **{what: data for what, (_, data) in hostile_uploads().items()},
    }


def hostile_uploads() -> dict[str, tuple[str, bytes]]:
    """Small files that hold one huge record or one huge cell: what -> (file name, bytes)."""
    return {
        "CSV, one record of 6,000,000 fields on short lines": (
            "record.csv",
            builders.one_record_csv(6_000_000),
        ),
        "xlsx, one inline-string cell of 60,000,000 letters": (
            "cell.xlsx",
            builders.long_cell_xlsx(60_000_000),
        ),
    }


def write_xlsx(path: Path, count: int) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Customers")
    sheet.append(HEADERS)
    for row in customer_rows(count, phone_start=1_000_000):
        sheet.append(row)
    workbook.save(path)


def write_csv(path: Path, count: int) -> None:
    path.write_bytes(builders.csv_bytes([HEADERS, *customer_rows(count, phone_start=1_000_000)]))


# --- Measuring --------------------------------------------------------------------------------


def status_kb(pid: int | str, field: bytes) -> int | None:
    """A field of /proc/PID/status in KB; None once the process is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class ChildPeaks:
    """The peak RSS of each calamine child of this process, sampled every millisecond."""

    def __init__(self) -> None:
        self.peaks_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children():
                # Between vfork and exec a child's /proc entry shows this process's memory; the
                # command line is read first, and exec never goes back.
                if not _runs_calamine_child(child.pid):
                    continue
                peak = status_kb(child.pid, b"VmHWM:")
                if peak is not None:
                    self.peaks_kb[child.pid] = max(self.peaks_kb.get(child.pid, 0), peak)
            time.sleep(0.001)

    def __enter__(self) -> "ChildPeaks":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float | None:
        return max(self.peaks_kb.values()) / 1024 if self.peaks_kb else None


def _runs_calamine_child(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"calamine_child.py" in cmdline.read()
    except OSError:
        return False


@dataclass
class Run:
    outcome: str  # "N rows" or the FileError's code
    seconds: float
    parent_growth_mb: float
    child_peak_mb: float | None


def read_once(path: Path, *, sample_children: bool) -> Run:
    """open_rows on `path` (default limits), every row read and dropped, with what it cost."""
    gc.collect()
    rss_before = status_kb("self", b"VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
    children = ChildPeaks() if sample_children else None
    with children or contextlib.nullcontext():
        started = time.perf_counter()
        try:
            with open_rows(path) as stream:
                count = sum(1 for _ in stream)
            outcome = f"{count:,} rows"
        except FileError as error:
            outcome = error.code
        seconds = time.perf_counter() - started
    peak = status_kb("self", b"VmHWM:")
    child_peak = children.peak_mb if children else None
    return Run(outcome, seconds, (peak - rss_before) / 1024, child_peak)


def measure(path: Path, repeat: int) -> Run:
    """Seconds: the median of `repeat` runs. Child memory: one more run, sampled (the sampling
    thread slows a run by up to 10 %, so it is left out of the timed ones). Parent memory: the
    most any run took."""
    timed = [read_once(path, sample_children=False) for _ in range(repeat)]
    sampled = read_once(path, sample_children=True)
    runs = [*timed, sampled]
    outcomes = {run.outcome for run in runs}
    if len(outcomes) != 1:
        raise RuntimeError(f"{path.name} gave different outcomes: {outcomes}")
    return Run(
        sampled.outcome,
        statistics.median(run.seconds for run in timed),
        max(run.parent_growth_mb for run in runs),
        sampled.child_peak_mb,
    )


def megabytes(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def size(path: Path) -> str:
    nbytes = path.stat().st_size
    return f"{nbytes / MIB:.1f} MB" if nbytes >= MIB else f"{nbytes / 1024:.0f} KB"


# --- Through the web worker -------------------------------------------------------------------


def answer_of(response) -> str:
    """The error code, or what the preview says of the rows."""
    body = response.json()
    if not body.get("success"):
        return f"{response.status_code} `{body.get('code')}`"
    summary = body["summary"]
    codes = sorted({error["code"] for error in body["errors"]})
    return (
        f"{response.status_code} preview: {summary['total_rows']} row, "
        f"{summary['invalid']} invalid ({', '.join(codes)})"
    )


def web_uploads(directory: Path) -> list[list]:
    """Each hostile upload through gunicorn: what came back, and the worker's RSS growth."""
    env, password = prepared_database()
    rows = []
    with running_stack(env) as (base, processes):
        auth = login(base, password)
        [worker] = psutil.Process(processes["web"].pid).children()
        warm = directory / "warm.csv"
        write_csv(warm, 10)
        upload(base, auth, warm).raise_for_status()
        for what, (name, data) in hostile_uploads().items():
            path = directory / name
            path.write_bytes(data)
            before = status_kb(worker.pid, b"VmRSS:")
            Path(f"/proc/{worker.pid}/clear_refs").write_text("5")  # VmHWM := current RSS
            started = time.perf_counter()
            response = upload(base, auth, path)
            seconds = time.perf_counter() - started
            peak = status_kb(worker.pid, b"VmHWM:")
            rows.append(
                [
                    what,
                    size(path),
                    answer_of(response),
                    f"{len(response.content) / 1024:.1f} KB",
                    f"{seconds:.2f}",
                    f"{before / 1024:.0f}",
                    f"{(peak - before) / 1024:.1f}",
                ]
            )
    return rows


# --- Tables -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--skip-web", action="store_true", help="no uploads through gunicorn (needs Postgres)"
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # each refusal is logged by design; only the tables here

    with tempfile.TemporaryDirectory(prefix="bench-reader-") as scratch:
        directory = Path(scratch)
        good = []
        for count in ROW_COUNTS:
            for file_type, write in (("xlsx", write_xlsx), ("csv", write_csv)):
                path = directory / f"customers-{count}.{file_type}"
                write(path, count)
                good.append((file_type, count, path))
        hostile = []
        for index, (what, data) in enumerate(hostile_files().items()):
            path = directory / f"hostile-{index}"
            path.write_bytes(data)
            hostile.append((what, path))

        rows_table = []
        for file_type, count, path in good:
            run = measure(path, args.repeat)
            if run.outcome != f"{count + 1:,} rows":  # the header row is read too
                raise RuntimeError(f"{path.name}: {run.outcome}")
            rows_table.append(
                [
                    file_type,
                    f"{count:,} x {len(HEADERS)}",
                    size(path),
                    f"{run.seconds:.2f}",
                    f"{count / run.seconds:,.0f}",
                    megabytes(run.parent_growth_mb),
                    megabytes(run.child_peak_mb),
                ]
            )

        refusals_table = []
        for what, path in hostile:
            run = measure(path, args.repeat)
            refusals_table.append(
                [
                    what,
                    size(path),
                    run.outcome,
                    f"{run.seconds * 1000:.1f}",
                    megabytes(run.parent_growth_mb),
                    megabytes(run.child_peak_mb),
                ]
            )
        web_table = [] if args.skip_web else web_uploads(directory)

    calamine = importlib.metadata.version("python-calamine")
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"python-calamine {calamine}, median of {args.repeat} runs"
    )
    print_table(
        f"Reading every row through open_rows ({machine})",
        ["type", "rows x columns", "file", "seconds", "rows/s", "parent RSS +MB", "child peak MB"],
        rows_table,
    )
    print_table(
        "Refusing hostile files (default ReaderLimits)",
        ["file", "size", "error code", "ms to refusal", "parent RSS +MB", "child peak MB"],
        refusals_table,
    )
    if web_table:
        print_table(
            "Hostile uploads answered by the web worker (gunicorn, one worker, 4 threads)",
            ["file", "size", "answer", "body", "seconds", "worker RSS before MB", "growth MB"],
            web_table,
        )


if __name__ == "__main__":
    main()
