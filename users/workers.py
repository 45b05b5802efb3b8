"""What every background task's process shares: stopping between steps when asked to.

Below the capability packages (imports and messaging both use it), beside users.errors."""

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stop_requested_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM/SIGINT while the block runs, so a job can stop between batches.

    The previous handler still runs: db_worker then takes no further task and exits when this one
    returns; its second signal still stops the process at once."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum, frame):
        already = event.is_set()
        event.set()
        chained = previous[signum]
        if callable(chained):
            chained(signum, frame)
        elif already:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield event
    finally:
        for sig, chained in previous.items():
            signal.signal(sig, chained)
