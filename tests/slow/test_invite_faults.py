"""Invites on the real processes: a worker stopped (SIGTERM, as a deploy does) while it texts an
import's invites hands the rest to the next worker, and every customer is texted exactly once."""

import re
import time
from pathlib import Path

import pytest

from bench.common import xlsx_file
from tests.slow.conftest import JOB_DEADLINE_S, POLL_S, JobWatch, _stack, stop

pytestmark = pytest.mark.slow

ROWS = 2_000
RECIPIENT = re.compile(r"^To: (\+\d+)$", re.MULTILINE)


def recipients(folder: Path) -> list[str]:
    return [
        RECIPIENT.search(path.read_text(encoding="utf-8")).group(1) for path in folder.glob("*.txt")
    ]


def wait_for_texts(folder: Path, count: int) -> None:
    deadline = time.monotonic() + JOB_DEADLINE_S
    while len(list(folder.glob("*.txt"))) < count:
        assert time.monotonic() < deadline, f"{len(list(folder.glob('*.txt')))} texts of {count}"
        time.sleep(POLL_S)


def test_a_worker_stopped_while_texting_invites_leaves_the_rest_to_the_next(
    postgres, request, tmp_path
):
    texts = tmp_path / "sms"
    env = {
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(texts),
        "SMS_PER_SECOND": "200",
        "SIGN_IN_LINK_BASE_URL": "https://api.primepre.test",
    }
    with _stack(request, tmp_path, **env) as stack:
        # given an import of 2,000 new customers confirmed with notify, on a real worker
        api = stack.api()
        preview = api.upload(xlsx_file(ROWS, phone_start=6_000_000))
        answer = api.post(
            "/api/auth/customers/excel/bulk-create/",
            json={"upload_id": preview.json()["upload_id"], "notify": True},
        )
        task_id = answer.json()["task_id"]
        first = stack.start_worker()
        JobWatch(api, task_id).until_finished()
        wait_for_texts(texts, 200)

        # when that worker is stopped while it texts them, and another starts
        assert stop(first) == 0
        stopped_at = len(recipients(texts))
        stack.start_worker()

        # then every customer is texted exactly once, and the job counts them all
        wait_for_texts(texts, ROWS)
        time.sleep(1)  # nothing more arrives
        sent = recipients(texts)
        # (it stopped between batches of 50, not at the end of its task of 1,000: one per
        # import batch)
        assert stopped_at < 1_000
        assert len(sent) == len(set(sent)) == ROWS
        counted = stack.sql(
            "SELECT sms_sent_count, sms_failed_count FROM users_importjob WHERE id = %s",
            (task_id,),
        )
        assert counted == [(ROWS, 0)]
        links = stack.scalar(
            "SELECT count(DISTINCT user_id) FROM users_signinlink WHERE purpose = 'invite'"
        )
        assert links == ROWS
        assert stack.responses.server_errors() == []
