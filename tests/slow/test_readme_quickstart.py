"""The README's quickstart, run as a newcomer runs it: `make run`, then its curl block as it is
written (only the port and the printed password filled in): it signs in, uploads the template,
confirms, watches, and downloads the failed rows and the export."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from bench.common import ROOT, free_port, wait_for

TOOLS = shutil.which("curl") and shutil.which("jq")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not TOOLS, reason="needs curl and jq")]


def quickstart_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def printed_password(log, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Password: (\S+)", log.read_text())
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError("make run printed no password")


def test_the_quickstart_imports_the_template_and_exports_it(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CI")}
    env.update(SQLITE_PATH=str(tmp_path / "run.sqlite3"), MAKEFLAGS="")
    log = tmp_path / "make.log"
    with log.open("w") as out:
        make = subprocess.Popen(
            [shutil.which("make"), "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/health/", timeout=120)
        block = quickstart_block()
        assert "API=http://127.0.0.1:8000/api/auth" in block
        assert "PASSWORD='the password make run printed'" in block
        script = block.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace(
            "the password make run printed", printed_password(log)
        )
        # The reader watches until the job is done; the script asks again until it is.
        script += (
            'for _ in $(seq 60); do curl -s "$API/customers/excel/bulk-create/status/$UPLOAD/" '
            '-H "Authorization: Bearer $TOKEN" | jq -e \'.status == "COMPLETE"\' && break; '
            "sleep 0.5; done\n"
            'curl -s -o customers.xlsx -H "Authorization: Bearer $TOKEN" $API/customers/export/\n'
        )
        run = subprocess.run(
            ["/bin/bash", "-eu", "-o", "pipefail", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.killpg(make.pid, signal.SIGINT)
        try:
            make.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()

    assert run.returncode == 0, run.stderr
    assert '"to_create": 3' in run.stdout
    # The confirm's task_id is the upload_id, as the README says.
    upload_id = re.search(r'"upload_id": "([^"]+)"', run.stdout).group(1)
    assert re.search(r'"task_id": "([^"]+)"', run.stdout).group(1) == upload_id
    assert "true" in run.stdout.splitlines()  # the status came to COMPLETE
    for name in ("template.xlsx", "failed.xlsx", "customers.xlsx"):
        assert (tmp_path / name).read_bytes()[:2] == b"PK", name
