"""Password reset timing: whether the time of an answer tells that a phone has an account.

    .venv/bin/python bench/bench_reset.py [--requests 20]

Runs the real stack (gunicorn with gunicorn_config.py, one task worker, Postgres, the production
password hasher) and sends `--requests` requests for each branch, in rounds of one request per
branch in a shuffled order, so that the machine's load falls on all of them alike:

- reset: an existing phone's first request, an existing phone over PASSWORD_RESET_MAX_PER_HOUR,
  a phone without an account, an email;
- confirm with a wrong PIN: an account with a pending PIN, an account without one, a phone
  without an account.

The per-address rates are raised for the run (every request comes from 127.0.0.1). Prints each
branch's median and its distance from the median of all branches, and whether every branch's
answer body is the same. The target: every median within 20 % of every other (largest over
smallest at most 1.2).
"""

import argparse
import os
import random
import statistics
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    env_for,
    manage,
    print_table,
    recreate_database,
    running_stack,
)

DATABASE = os.environ.get("BENCH_DATABASE_NAME", "primepre_bench_reset")
RESET = "/api/auth/password/reset/"
CONFIRM = "/api/auth/password/reset/confirm/"
NEW_PASSWORD = "a-Long-new-passphrase-7"  # noqa: S105 (a benchmark's input)
TARGET_RATIO = 1.2

# Phones of the accounts made for the run, by branch: 0240{branch}{n:05d}.
SETUP = """
from datetime import timedelta
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from users.models import PasswordResetPin, User

count = {count}
now = timezone.now()


def account(phone, **extra):
    user = User(phone=phone, first_name="Bench", last_name="Reset",
                shipping_mark=f"PM BENCH {{phone[-6:]}}", is_verified=True, **extra)
    user.set_unusable_password()
    user.save()
    return user


for n in range(count):
    account(f"+23324010{{n:04d}}")
limited = account("+233240200000", email="limited@example.com")
for _ in range({per_hour}):
    PasswordResetPin.objects.create(user=limited, pin_hash=make_password("999999"),
                                    created_at=now, expires_at=now + timedelta(minutes=10),
                                    used_at=now)
for n in range(count):
    user = account(f"+23324030{{n:04d}}")
    PasswordResetPin.objects.create(user=user, pin_hash=make_password("123456"),
                                    created_at=now - timedelta(hours=2),
                                    expires_at=now + timedelta(minutes=10))
for n in range(count):
    account(f"+23324040{{n:04d}}")
"""


def branches(count: int) -> dict[str, list[tuple[str, dict]]]:
    """Branch name -> the requests to send (path, body)."""
    wrong_pin = {"pin": "000000", "new_password": NEW_PASSWORD}
    return {
        "reset: existing phone, first request": [
            (RESET, {"phone": f"024010{n:04d}"}) for n in range(count)
        ],
        "reset: existing phone, over the hourly limit": [
            (RESET, {"phone": "0240200000"}) for _ in range(count)
        ],
        "reset: phone without an account": [
            (RESET, {"phone": f"024050{n:04d}"}) for n in range(count)
        ],
        "reset: an email": [(RESET, {"phone": "limited@example.com"}) for _ in range(count)],
        "confirm: wrong PIN, pending PIN": [
            (CONFIRM, {"phone": f"024030{n:04d}", **wrong_pin}) for n in range(count)
        ],
        "confirm: wrong PIN, no pending PIN": [
            (CONFIRM, {"phone": f"024040{n:04d}", **wrong_pin}) for n in range(count)
        ],
        "confirm: wrong PIN, phone without an account": [
            (CONFIRM, {"phone": f"024060{n:04d}", **wrong_pin}) for n in range(count)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    env = env_for(
        recreate_database(DATABASE),
        LOGIN_RATE="100000/min",
        PASSWORD_RESET_RATE="100000/hour",  # noqa: S106 (a rate)
    )
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    per_hour = int(
        manage(
            env,
            "shell",
            "-c",
            "from django.conf import settings; print(settings.PASSWORD_RESET_MAX_PER_HOUR)",
        ).split()[-1]
    )
    manage(env, "shell", "-c", SETUP.format(count=args.requests, per_hour=per_hour))

    plan = branches(args.requests)
    times: dict[str, list[float]] = {name: [] for name in plan}
    answers: dict[str, set[tuple[int, str]]] = {name: set() for name in plan}
    with running_stack(env) as (base, _processes):
        session = requests.Session()
        # One request of each endpoint first: the first answer pays for imports and connections.
        session.post(base + RESET, json={"phone": "0249999999"}, timeout=60)
        session.post(
            base + CONFIRM,
            json={"phone": "0249999999", "pin": "1", "new_password": NEW_PASSWORD},
            timeout=60,
        )
        order = list(plan)
        shuffler = random.Random(15)
        for n in range(args.requests):
            # A new order each round: no branch always follows the slow confirms, or always
            # meets the worker busy with the tasks the round before queued.
            shuffler.shuffle(order)
            for name in order:
                path, body = plan[name][n]
                started = time.perf_counter()
                response = session.post(base + path, json=body, timeout=60)
                times[name].append((time.perf_counter() - started) * 1000)
                answers[name].add((response.status_code, response.text))

    medians = {name: statistics.median(values) for name, values in times.items()}
    rows = []
    for endpoint in ("reset", "confirm"):
        group = {name: m for name, m in medians.items() if name.startswith(endpoint)}
        middle = statistics.median(group.values())
        for name, median in group.items():
            [(code, _text)] = answers[name] if len(answers[name]) == 1 else [(0, "")]
            rows.append(
                [
                    name,
                    f"{median:.1f}",
                    f"{min(times[name]):.1f}",
                    f"{max(times[name]):.1f}",
                    f"{(median / middle - 1) * 100:+.0f} %",
                    code or "differ",
                ]
            )
    print_table(
        f"Password reset, {args.requests} requests a branch (ms)",
        ["branch", "median", "min", "max", "vs the endpoint's median", "status"],
        rows,
    )
    for endpoint in ("reset", "confirm"):
        group = {name: m for name, m in medians.items() if name.startswith(endpoint)}
        ratio = max(group.values()) / min(group.values())
        bodies = set().union(*(answers[name] for name in group))
        print(
            f"\n{endpoint}: slowest median / fastest median = {ratio:.2f} "
            f"(target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'}); "
            f"answers: {'identical' if len(bodies) == 1 else f'{len(bodies)} different'}"
        )


if __name__ == "__main__":
    main()
