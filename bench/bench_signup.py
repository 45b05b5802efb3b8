"""Sign-up and forgot password take the same time whether the phone is registered or not.

    .venv/bin/python bench/bench_signup.py [--runs 20]

Through the real server (gunicorn with gunicorn_config.py) on a scratch Postgres database
(BENCH_DATABASE_NAME), with the production password hasher and SMS off (no provider call on
either side). `--runs` accounts are signed up first (untimed); then each round times, one after
the other, a sign-up with new details and one with a registered phone (new email and mark), a
forgot-password for a registered phone and for an unknown one, in a new shuffled order each
round. Medians of `--runs` each; the
target is every pair within 20 % of each other (answers that take longer for one kind of phone
would tell which phones are registered).
"""

import argparse
import os
import random
import statistics
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import prepared_database, print_table, running_stack

TARGET_RATIO = 1.2
SIGNUP = "/api/auth/signup/with-shipping-mark/"
FORGOT = "/api/auth/phone/forgot-password/"
# Generous limits: the benchmark sends many requests from one address.
_RATE_SETTINGS = (
    "SIGNUP_RATE",
    "SIGNUP_PHONE_RATE",
    "FORGOT_PASSWORD_RATE",
    "FORGOT_PASSWORD_PHONE_RATE",
    "SHIPPING_MARKS_RATE",
    "PASSWORD_RESET_RATE",
)
RATES = dict.fromkeys(_RATE_SETTINGS, "100000/hour")


def signup_body(n: int, *, phone: int) -> dict:
    return {
        "first_name": "Ama",
        "last_name": "Owusu",
        "nickname": "",
        "company_name": "",
        "email": f"bench{n}@example.com",
        "phone": f"024{phone:07d}",
        "region": "ASHANTI",
        "user_type": "INDIVIDUAL",
        "password": "Kente-Loom-42",
        "confirm_password": "Kente-Loom-42",
        "shipping_mark": f"PM 1 BENCH{n}",
    }


def timed(url: str, body: dict) -> float:
    start = time.perf_counter()
    response = requests.post(url, json=body, timeout=60)
    elapsed = time.perf_counter() - start
    if response.status_code >= 300:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    env, _password = prepared_database()
    env = {**env, **RATES, "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}
    times: dict[str, list[float]] = {key: [] for key in ("new", "taken", "known", "unknown")}
    load = os.getloadavg()[0]
    with running_stack(env, workers=0) as (base, _processes):
        for n in range(runs):  # the registered accounts
            timed(base + SIGNUP, signup_body(n, phone=1_000_000 + n))
        timed(base + SIGNUP, signup_body(9_999, phone=3_999_999))  # warm-up
        order = random.Random(7)
        for n in range(runs):
            # Each round in its own order: what runs just before a request (a sign-up's two
            # hashes) would otherwise weigh on one kind only.
            requests_of_round = [
                ("new", SIGNUP, signup_body(1_000 + n, phone=2_000_000 + n)),
                ("taken", SIGNUP, signup_body(2_000 + n, phone=1_000_000 + n)),
                ("known", FORGOT, {"phone": f"024{1_000_000 + n:07d}"}),
                ("unknown", FORGOT, {"phone": f"024{5_000_000 + n:07d}"}),
            ]
            order.shuffle(requests_of_round)
            for kind, path, body in requests_of_round:
                times[kind].append(timed(base + path, body))
    load = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
    medians = {key: statistics.median(values) for key, values in times.items()}
    rows = []
    for label, a, b in (
        ("signup/with-shipping-mark/", "new", "taken"),
        ("phone/forgot-password/", "unknown", "known"),
    ):
        ratio = max(medians[a], medians[b]) / min(medians[a], medians[b])
        rows.append(
            [
                label,
                runs,
                f"{medians[a]:.0f}",
                f"{medians[b]:.0f}",
                f"{ratio:.2f}",
                "met" if ratio <= TARGET_RATIO else "MISSED",
            ]
        )
    print_table(
        f"Median ms per request, new vs registered phone (load average {load}, "
        f"target: within {TARGET_RATIO - 1:.0%})",
        ["endpoint", "runs", "new phone ms", "registered phone ms", "slower / faster", "target"],
        rows,
    )


if __name__ == "__main__":
    main()
