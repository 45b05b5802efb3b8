"""Hostile clients: Schemathesis reads the running server's OpenAPI schema (/api/schema/, read as
staff) and sends every operation what the schema allows and what it does not (examples, boundary
values, then random positive and negative data, then chains of calls), signed in as staff and as
a customer.
Every answer must be a non-5xx (but Send Message's documented 503 without SMS settings) that
matches the schema's response for its status code.

Run through Schemathesis's CLI in a subprocess: it has every phase (the pytest integration only
fuzzes), prints a curl command that reproduces each failure, and keeps Hypothesis's state away
from this test process. Bounded by SCHEMATHESIS_MAX_EXAMPLES per operation (default 50), with a
fixed seed (SCHEMATHESIS_SEED) so that CI runs are repeatable.

Generated values alone would stop at the front door: random ids only ever get 404s, and random
bytes for the upload's `file` only ever get "not a spreadsheet". So Schemathesis is offered, part
of the time, the ids of real customers and jobs and a set of hostile spreadsheets (HOSTILE_FILES:
control characters, formulas, broken quoting, huge cells and rows...), and the code behind the
front door is fuzzed too. Real workbooks of real size are the fault tests' business."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import HEADERS, customer_rows
from tests.slow.conftest import Account, Api, JobWatch, LiveStack

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20251122"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "response_schema_conformance",
        "positive_data_acceptance",
        "negative_data_rejection",
    ]
)
HEADER = "Shipping Mark,First Name,Last Name,Email,Phone Number,Region\n"
HOSTILE_FILES = [
    HEADER + "PM A1,Kwa\x00me,Mensah,,0241234567,Ashanti\n",
    HEADER + "=cmd|' /C calc'!A0,+SUM(1),-1,@x,=1+1,Volta\n",
    HEADER + "PM A2,Kwa\u202eme,Men\u200bsah\u00a0,,0241234568,\U0001f600 Volta\n",
    HEADER + 'PM A3,Ama,"Unbalanced,,0241234569,Central\n',
    HEADER + "PM A4," + "A" * 10_000 + ",Mensah,,0241234570,Western\n",
    HEADER + ",".join(["x"] * 2_000) + "\n",
    HEADER.replace(",", ";") + "PM A5;Ama;Owusu;;+233 24 123 4571;Eastern\n",
    "\ufeff" + HEADER + "PM A6,Ama,Owusu,AMA@EXAMPLE.COM,2.41234572E8,north east\r\n\r\n",
    "PM A7,Kofi,Boateng,kofi@example.com,0241234573\n",
    HEADER,
    HEADER + "PM A8,Yaw,Osei,,0241234574,Ashanti\n" * 3 + "\n" * 50 + "PM A9,Yaw,Osei,,x,y\n",
    "Phone\x00,First\x7fName,\x1b[31mLast\n0241234575,Efua,Darko\n",
]


def spreadsheet(count: int, *, phone_start: int, broken: int) -> bytes:
    """A CSV with `count` valid rows and `broken` rows that fail validation."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(customer_rows(count, phone_start=phone_start))
    writer.writerows([["", "", "Nobody", "not-an-email", "12", "Atlantis", "", ""]] * broken)
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def known_ids(live_stack_for_module: LiveStack) -> dict[str, list]:
    """Customers, a previewed upload and a finished import with failed rows, for the fuzzer to
    reach past the 404s."""
    api = live_stack_for_module.api()
    customers = [
        api.post(
            "/api/auth/customers/",
            json={
                "first_name": "Fuzz",
                "last_name": f"Target{n}",
                "phone": f"02480000{n:02d}",
                "region": "ASHANTI",
            },
        ).json()["id"]
        for n in range(5)
    ]
    uploads = []
    for n in range(2):
        rows = spreadsheet(20, phone_start=7_000_000 + n * 100, broken=3)
        preview = api.post(
            "/api/auth/customers/excel/upload/", files={"file": (f"seed{n}.csv", rows)}
        )
        assert preview.status_code == 200, preview.text
        uploads.append(preview.json()["upload_id"])
    finished = api.confirm(uploads[1])
    JobWatch(api, finished).until_finished()
    return {"customer_ids": customers, "job_ids": uploads}


def toml_value(value: str | int) -> str:
    """A TOML basic string (control characters escaped as \\uXXXX) or an integer."""
    if isinstance(value, int):
        return str(value)
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F or c in '"\\' else c for c in value
    )
    return f'"{escaped}"'


def config(known: dict[str, list]) -> str:
    def listed(values: list) -> str:
        return ", ".join(toml_value(value) for value in values)

    return f"""
[generation]
database = "none"

[cache]
enabled = false

[dictionaries.customer_ids]
values = [{listed(known["customer_ids"])}]

[dictionaries.job_ids]
values = [{listed(known["job_ids"])}]

[dictionaries.hostile_files]
values = [{listed(HOSTILE_FILES)}]

[parameters]
"path.user_id" = {{ dictionary = "customer_ids", probability = 0.5 }}
"path.task_id" = {{ dictionary = "job_ids", probability = 0.5 }}
"path.upload_id" = {{ dictionary = "job_ids", probability = 0.5 }}
"query.import_job" = {{ dictionary = "job_ids", probability = 0.5 }}
"body.upload_id" = {{ dictionary = "job_ids", probability = 0.5 }}
"body.file" = {{ dictionary = "hostile_files", probability = 0.3 }}

# The server runs without Twilio settings, so Send Message answers its documented 503
# sms_not_configured there; any other 5xx (a 500 included) still fails.
[[operations]]
include-path-regex = "/send_message/$"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]
{leniencies()}
"""


# Where a request the schema allows may still be refused (400, and 415 for a file that is not
# a spreadsheet): the answer depends on facts no schema can state. docs/api.md lists the same
# ones (What the schema says). Everywhere else, and for negative_data_rejection
# everywhere, the schema and the server agree.
SCHEMA_CANNOT_SAY = {
    # a password that is not the account's, a refresh token or PIN that is not a live one
    "POST /api/auth/login/": ["400"],
    "POST /api/auth/logout/": ["400"],
    "POST /api/auth/password/reset/confirm/": ["400"],
    "POST /api/auth/password-change/": ["400"],
    "POST /api/auth/verify-phone/": ["400"],
    # a phone that is a real number, values no other user holds, a password Django's
    # validators take and its confirmation, a profile's read-only fields sent unchanged
    "POST /api/auth/admin/users/": ["400"],
    "POST /api/auth/register/": ["400"],
    "POST /api/auth/signup/with-shipping-mark/": ["400"],
    "POST /api/auth/signup/": ["400"],
    "POST /api/auth/generate-shipping-marks/": ["400"],
    "POST /api/auth/customers/": ["400"],
    "PUT /api/auth/admin/users/{user_id}/": ["400"],
    "PUT /api/auth/customers/{user_id}/": ["400"],
    "PATCH /api/auth/admin/users/{user_id}/": ["400"],
    "PATCH /api/auth/customers/{user_id}/": ["400"],
    "PUT /api/auth/profile/": ["400"],
    "PATCH /api/auth/profile/": ["400"],
    "POST /api/auth/admin/users/{user_id}/reset_password/": ["400"],
    "POST /api/auth/customers/{user_id}/reset_password/": ["400"],
    # a file is judged by its bytes: a spreadsheet, readable, with the needed columns
    "POST /api/auth/customers/excel/upload/": ["400", "413", "415"],
    # which columns an upload has, and whether a mapping leaves the required fields
    "POST /api/auth/customers/excel/upload/{upload_id}/remap/": ["400"],
}
POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429"]


def leniencies() -> str:
    return "".join(
        f"""
[[operations]]
include-name = "{name}"
checks.positive_data_acceptance.expected-statuses = {[*POSITIVE, *statuses]!r}
"""
        for name, statuses in SCHEMA_CANNOT_SAY.items()
    ).replace("'", '"')


def schemathesis(stack: LiveStack, account: Account, known: dict, workdir: Path):
    token = Api(stack.base, account, stack.responses).session.headers["Authorization"]
    (workdir / "schemathesis.toml").write_text(config(known))
    # The schema is for staff only: read it as staff, and fuzz as `account`.
    schema = stack.api().get("/api/schema/?format=json")
    assert schema.status_code == 200, schema.text
    (workdir / "schema.json").write_text(schema.text)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(workdir / "schemathesis.toml"),
            "--no-color",
            "run",
            str(workdir / "schema.json"),
            "--url",
            stack.base,
            "--header",
            f"Authorization: {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            # One worker: with two threads, Hypothesis describing its strategies (by parsing
            # their source) now and then meets CPython 3.11's "AST constructor recursion depth
            # mismatch" SystemError (CPython gh-106905), an error of the tool, not of the API.
            "--workers",
            "1",
            "--request-timeout",
            "60",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def operations_tested(output: str) -> tuple[str, str]:
    """("Selected: 20/20", "Tested: 20") from the summary, to show the run did something."""
    lines = [line.strip() for line in output.splitlines()]
    selected = next((line for line in lines if line.startswith("Selected:")), "")
    tested = next((line for line in lines if line.startswith("Tested:")), "")
    return selected, tested


# The customer goes first: the staff run deletes and edits customers.
@pytest.mark.parametrize("role", ["customer", "staff"])
def test_fuzzing_every_operation_gets_no_server_error_and_only_documented_answers(
    live_stack_for_module, known_ids, tmp_path, role
):
    # given a signed-in customer (who may see only /api/auth/me/) or staff member (super admin)
    stack = live_stack_for_module
    account = stack.customer if role == "customer" else stack.staff

    # when Schemathesis sends every operation valid and invalid requests
    result = schemathesis(stack, account, known_ids, tmp_path)

    # then no answer is a 5xx or breaks the schema
    selected, tested = operations_tested(result.stdout)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    assert tested
    assert selected.startswith(f"Selected: {tested.split()[-1]}/")
