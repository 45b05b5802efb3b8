"""What the project's commands print: a progress bar (and a job run under one), and a validation
error named by option."""

import sys
import threading
import time
from collections.abc import Callable

from django.core.exceptions import ValidationError

from users.models import ImportJob, ImportUndo


def progress_bar(done: int, total: int, width: int = 40) -> str:
    share = done / total if total else 1
    filled = int(share * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {share:4.0%}"


def validation_text(error: ValidationError) -> str:
    """`--field-name: message` for each field (the option that gave it), then any other message."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"--{field.replace('_', '-')}: {' '.join(messages)}"
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def run_with_progress(
    stdout,
    record: ImportJob | ImportUndo,
    *,
    run: Callable[[], object],
    done: Callable[[ImportJob | ImportUndo], int],
    total: int,
):
    """Runs `record` (an import or an undo) by `run` in this process if it is still queued (a
    worker that gets to it first runs it instead), with a bar of `done(record)` out of `total`
    that follows it either way until it finishes; returns it as it finished."""
    runner = threading.Thread(target=run, daemon=True)
    if record.status == ImportJob.Status.QUEUED:
        runner.start()
    while True:
        record.refresh_from_db()
        if sys.stdout.isatty():
            stdout.write("\r" + progress_bar(done(record), total), ending="")
        if record.status in ImportJob.FINISHED_STATUSES:
            break
        time.sleep(0.5)
    if runner.is_alive():
        runner.join(timeout=5)
    stdout.write("\n" + progress_bar(done(record), total))
    return record
