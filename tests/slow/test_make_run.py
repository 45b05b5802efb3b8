"""`make run` as a developer uses it: it serves, and Ctrl+C (SIGINT to the whole foreground
process group, as a terminal sends it) stops the server and the worker cleanly."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from bench.common import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow


def test_ctrl_c_stops_make_run_without_a_crash(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CI")}
    env.update(SQLITE_PATH=str(tmp_path / "run.sqlite3"), PORT=str(port), MAKEFLAGS="")
    make = subprocess.Popen(
        [shutil.which("make"), "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/health/", timeout=120)
        os.killpg(make.pid, signal.SIGINT)
        output, _ = make.communicate(timeout=30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()

    assert "Segmentation fault" not in output
    assert f"Serving http://127.0.0.1:{port}/" in output
    assert output.count("[SMS-DISABLED]") == 2  # the web process and the worker, once each
    time.sleep(0.5)
    leftover = subprocess.run(
        [shutil.which("pgrep"), "-f", f"runserver --noreload 127.0.0.1:{port}"], capture_output=True
    )
    assert leftover.returncode == 1
