"""Python's cyclic garbage collector in the long-running processes (the gunicorn worker, the
task worker)."""

import gc
import os


def freeze_start_up_objects() -> None:
    """Puts every object alive now (the modules, classes, settings and URLconf loaded at start)
    out of the collector's reach for the rest of the process's life. Each full collection
    otherwise walks those hundreds of thousands of objects again, and an import's rows trigger
    dozens of them; none of them ever becomes garbage. GC_FREEZE=0 leaves the collector as it
    is (to measure the difference: bench/bench_import.py)."""
    if os.environ.get("GC_FREEZE", "1") == "0":
        return
    # What start-up left as garbage is collected first, not kept forever.
    gc.collect()
    gc.freeze()
