"""`make run` as a developer uses it: it serves, says last where and how to sign in, and Ctrl+C
stops the server and the worker cleanly, from a terminal (SIGINT to the whole foreground
process group) and from a script that started it in the background."""

import contextlib
import os
import shutil
import signal
import subprocess
import time

import pytest

from bench.common import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow


def make_env(tmp_path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CI")}
    env.update(SQLITE_PATH=str(tmp_path / "run.sqlite3"), PORT=str(port), MAKEFLAGS="")
    return env


def server_left(port: int) -> bool:
    found = subprocess.run(
        [shutil.which("pgrep"), "-f", f"runserver --noreload 127.0.0.1:{port}"], capture_output=True
    )
    return found.returncode == 0


def test_ctrl_c_stops_make_run_without_a_crash(tmp_path):
    port = free_port()
    make = subprocess.Popen(
        [shutil.which("make"), "run", f"PORT={port}"],
        cwd=ROOT,
        env=make_env(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/health/", timeout=120)
        time.sleep(1)  # the announcement follows the server's first answer
        os.killpg(make.pid, signal.SIGINT)
        output, _ = make.communicate(timeout=30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()

    assert "Segmentation fault" not in output
    assert "No child processes" not in output
    assert output.count("[SMS-DISABLED]") == 2  # the web process and the worker, once each
    # The URL that works and the admin's password come after the migrations and the server's
    # own start-up lines.
    announced = output.index(f"primepre is running: http://127.0.0.1:{port}/")
    assert announced > output.rindex("Applying ")
    assert announced > output.index("Starting development server")
    assert output.index("Password: ") > announced
    time.sleep(0.5)
    assert not server_left(port)


def test_ctrl_c_stops_make_run_started_in_the_background_by_a_script(tmp_path):
    """A non-interactive shell starts a background job with SIGINT ignored; Ctrl+C (SIGINT to
    the group) must still stop the server and the worker, and nothing else is signalled."""
    port = free_port()
    log = tmp_path / "make.log"
    with log.open("w") as out:
        script = subprocess.Popen(
            ["/bin/sh", "-c", f"{shutil.which('make')} run PORT={port} & wait"],
            cwd=ROOT,
            env=make_env(tmp_path, port),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/health/", timeout=120)
        os.killpg(script.pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while server_left(port) and time.monotonic() < deadline:
            time.sleep(0.5)
        stopped = not server_left(port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGKILL)
        script.wait()

    assert stopped
    output = log.read_text()
    assert "No child processes" not in output
    assert "Error" not in output.rsplit("Ctrl+C stops", 1)[-1]
