"""How many SMS segments each text to a customer takes, with its link on a few base addresses.

    .venv/bin/python bench/sms_texts.py [--base https://api.example.com ...]

A link is SIGN_IN_LINK_BASE_URL + /i/<account id in base 36>/<Django token>/; the token always
has 39 characters (a base-36 time of 6, a dash, 32 hex digits; tests/accounts/test_link_flows.py
checks it against a real one), and the id here has 4 (accounts up to 1.68 million), so each
figure is the longest text of its kind. A segment is 160 GSM-7 septets alone or 153 as part of
a longer text (70 or 67 UCS-2 characters when a character is outside GSM-7).
"""

import argparse
import math
import os
import sys

import django
import gsm0338  # noqa: F401 (registers the "gsm03.38" codec)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASES = (
    "https://api.primepre.com",
    "https://primepre.onrender.com",
    "https://primepre-backend-production.onrender.com",
)
TOKEN = "d" * 6 + "-" + "f" * 32
PIN = "123456"


def segments(text: str) -> tuple[str, int]:
    """(encoding, segments) of `text` as a phone network sends it."""
    try:
        septets = len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)
    return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)


def texts(base: str) -> dict[str, str]:
    from users.accounts import reset, verification
    from users.messaging.invites import invite_text

    url = f"{base}/i/zzzz/{TOKEN}/"
    return {
        "invite": invite_text(url=url),
        "sign-up (link and PIN)": verification.verification_text(url=url, pin=PIN),
        "forgot password": reset.reset_link_text(url),
        "sign-up with registered details": verification.REGISTERED_TEXT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", action="append", help="a base address (repeatable)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "primepre.test_settings")
    django.setup()
    rows = []
    for base in args.base or BASES:
        for name, text in texts(base).items():
            encoding, count = segments(text)
            rows.append([name, base, len(text), encoding, count])
    from bench.common import print_table

    print_table(
        "SMS texts to customers (the longest of each kind)",
        ["text", "SIGN_IN_LINK_BASE_URL", "characters", "encoding", "segments"],
        rows,
    )


if __name__ == "__main__":
    main()
