"""Memory a hostile body costs the web process: 8 bodies of one shape at once, through gunicorn
(gunicorn_config.py, production settings) on a scratch Postgres database.

    .venv/bin/python bench/bench_hostile_bodies.py [--at-once 8]

Shapes, each as large as the target allows: many small objects (`[{},{},...]`), many small
strings (`["ab","ab",...]`), one long string (`{"phone": "1111..."}`) and deep nesting
(`[[[...]]]`). Targets: eight public endpoints, one body each, of 2.5 MB (the old limit of every
JSON body), declared and sent in chunks; the legacy bulk body (staff), 8 at once at its own
limit; and there, objects just under the bulk body's value cap. Rates are raised so that every
body goes as far as the server lets it (the rates would otherwise answer most of them 429).

Each row in a fresh stack. Per row: the statuses, whether every answer is a 4xx JSON error, and
the web tree's RSS (gunicorn master and worker, psutil every 20 ms) before, at its peak and a
second after. Target: growth (peak - before) under 64 MB.
"""

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import NamedTuple

import psutil
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    CONFIRM,
    RssSampler,
    login,
    prepared_database,
    print_table,
    running_stack,
    tree_rss_mb,
)
from primepre.body_limit import LEGACY_BULK_CUSTOMERS, LEGACY_CUSTOMER_VALUES

TARGET_MB = 64
OLD_LIMIT = 2_621_440  # DATA_UPLOAD_MAX_MEMORY_SIZE: every JSON body's limit before
BULK_LIMIT = OLD_LIMIT  # the legacy bulk body's own limit
PUBLIC = [
    "/api/auth/login/",
    "/api/auth/token/refresh/",
    "/api/auth/signup/with-shipping-mark/",
    "/api/auth/signup/",
    "/api/auth/verify-phone/",
    "/api/auth/phone/forgot-password/",
    "/api/auth/generate-shipping-marks/",
    "/api/auth/verify/shipping-mark/",
]
_RATE_SETTINGS = (
    "LOGIN_RATE",
    "SIGNUP_RATE",
    "SIGNUP_PHONE_RATE",
    "VERIFY_PHONE_RATE",
    "VERIFY_PHONE_PHONE_RATE",
    "FORGOT_PASSWORD_RATE",
    "FORGOT_PASSWORD_PHONE_RATE",
    "SHIPPING_MARKS_RATE",
    "CLAIM_RATE",
    "CLAIM_PHONE_RATE",
)
RATES = dict.fromkeys(_RATE_SETTINGS, "100000/hour")


def shape(name: str, size: int) -> bytes:
    """A JSON body of `size` bytes at most, of the named shape."""
    if name == "small objects":
        return ("[" + ",".join(["{}"] * ((size - 2) // 3)) + "]").encode()
    if name == "small strings":
        return ("[" + ",".join(['"ab"'] * ((size - 2) // 5)) + "]").encode()
    if name == "long string":
        return ('{"phone": "' + "1" * (size - 14) + '"}').encode()
    depth = size // 2
    return ("[" * depth + "]" * depth).encode()


SHAPES = ["small objects", "small strings", "long string", "deep nesting"]


def chunks(body: bytes) -> Iterator[bytes]:
    """The body as a generator: requests sends it chunked, with no Content-Length."""
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def send_all(requests_to_send: list[tuple[str, bytes, dict, bool]]) -> list[tuple[int, bool]]:
    """Sends every (url, body, headers, chunked) at once, one thread each; (status, whether the
    answer is a JSON error envelope) of each."""
    start = threading.Barrier(len(requests_to_send))
    answers: list[tuple[int, bool]] = []

    def send(url: str, body: bytes, headers: dict, chunked: bool) -> None:
        start.wait()
        try:
            response = requests.post(
                url,
                data=chunks(body) if chunked else body,
                headers={"Content-Type": "application/json", **headers},
                timeout=300,
            )
        except requests.RequestException:
            answers.append((0, False))
            return
        try:
            envelope = response.json().get("success") is False
        except ValueError:
            envelope = False
        answers.append((response.status_code, envelope))

    threads = [threading.Thread(target=send, args=args) for args in requests_to_send]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def measure(env: dict, password: str, row: "Row") -> list:
    """One row in a stack of its own, so that memory an earlier row left behind in the worker
    (freed, not returned) neither hides nor inflates this one's growth."""
    with running_stack(env, workers=0) as (base, processes):
        web = psutil.Process(processes["web"].pid)
        auth = login(base, password) if row.staff else {}
        batch = [(base + path, row.body, auth, row.chunked) for path in row.paths]
        for path in set(row.paths):  # the first request of a path loads what it imports
            requests.post(base + path, json={}, headers=auth, timeout=60)
        before = tree_rss_mb(web)
        with RssSampler([web.pid], period=0.02) as sampler:
            answers = send_all(batch)
        time.sleep(1)
        after = tree_rss_mb(web)
    statuses = Counter(status for status, _ in answers)
    all_4xx_json = all(400 <= status < 500 and envelope for status, envelope in answers)
    growth = sampler.peak - before
    return [
        ", ".join(f"{count}x {status}" for status, count in sorted(statuses.items())),
        "yes" if all_4xx_json else "NO",
        f"{before:.0f}",
        f"{sampler.peak:.0f}",
        f"{after:.0f}",
        f"{growth:.0f}",
        "yes" if growth < TARGET_MB and all_4xx_json else "no",
    ]


class Row(NamedTuple):
    target: str
    shape: str
    body: bytes
    paths: list[str]
    staff: bool = False
    chunked: bool = False


def rows_to_measure(at_once: int) -> list[Row]:
    public = [PUBLIC[n % len(PUBLIC)] for n in range(at_once)]
    rows = [
        Row(
            f"{at_once} public endpoints, {'chunked' if chunked else 'Content-Length'}",
            name,
            shape(name, OLD_LIMIT - 1024),
            public,
            chunked=chunked,
        )
        for chunked in (False, True)
        for name in SHAPES
    ]
    bulk = [CONFIRM] * at_once
    rows += [
        Row("legacy bulk body", name, shape(name, BULK_LIMIT - 1024), bulk, staff=True)
        for name in SHAPES
    ]
    cap = LEGACY_BULK_CUSTOMERS * LEGACY_CUSTOMER_VALUES
    at_cap = json.dumps({"customers": [{}] * (cap - 2)}, separators=(",", ":")).encode()
    rows.append(Row("legacy bulk body", "objects at the value cap", at_cap, bulk, staff=True))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--at-once", type=int, default=8)
    at_once = parser.parse_args().at_once
    env, password = prepared_database()
    env = {**env, **RATES}
    rows = [
        [row.target, row.shape, f"{len(row.body):,}", *measure(env, password, row)]
        for row in rows_to_measure(at_once)
    ]
    print_table(
        f"{at_once} hostile bodies at once; web RSS in MB (target: growth < {TARGET_MB} MB, "
        "every answer a 4xx JSON error)",
        [
            "target",
            "shape",
            "bytes",
            "statuses",
            "4xx JSON",
            "before",
            "peak",
            "after",
            "growth",
            "met",
        ],
        rows,
    )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
