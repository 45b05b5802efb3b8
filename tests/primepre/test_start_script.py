"""bin/start: web and worker in one service; SIGTERM reaches both; if one dies, all stop."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def service(tmp_path):
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHON": sys.executable,
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "SECRET_KEY": "start-script-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [str(ROOT / "bin" / "start")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{env['PORT']}/api/health/"
    for _ in range(150):
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the service did not come up: " + process.stdout.read())
    yield process
    if process.poll() is None:
        process.kill()
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def children(process) -> dict[str, psutil.Process]:
    found = {}
    for child in psutil.Process(process.pid).children():
        command = " ".join(child.cmdline())
        found["web" if "gunicorn" in command else "worker"] = child
    return found


def test_sigterm_stops_web_and_worker_and_the_script_exits_cleanly(service):
    started = children(service)

    service.send_signal(signal.SIGTERM)

    assert service.wait(timeout=60) == 0
    assert not any(alive(child) for child in started.values())


def test_when_the_worker_dies_the_web_is_stopped_and_the_script_fails(service):
    started = children(service)

    started["worker"].kill()

    assert service.wait(timeout=60) != 0
    started["web"].wait(timeout=30)
    assert not alive(started["web"])
