"""Near-duplicate benchmark: how well and how fast users.imports.resemblance finds the rows of a
10,000-row batch that resemble a stored customer or an earlier row, on Postgres (a scratch
database, BENCH_DATABASE_NAME + "_near").

    .venv/bin/python bench/bench_near_duplicates.py [--stored 100000] [--runs 5] [--no-preview]
        [--memory-rows 100000]

Customers are generated as a Ghanaian customer base looks to the rules: few first names (the
day names and a few dozen others), a few dozen surnames, so that namesakes are common; mobile
numbers spread over the operators' prefixes; an email for most, at a handful of providers; a
company for some, shared by several customers each. The batch plants near-duplicates of each
kind, against stored customers and against earlier rows, some written with other case, accents
or spaces; distractors that a careless rule would flag (a relative: same surname and a phone
one digit apart; a namesake: same names, another phone; a colleague: same company, another
phone; a row the preview reports as an exact duplicate); the rest are new people.

The batch is staged as a preview stages it (a job's rows to create in the staging table) and
the finder runs on that job in this process. Prints the precision and recall of each rule and
overall (a flag is right when it names the customer or row the planted row was made from), then
the finder's time for the batch against 0 and --stored customers beside the preview of a
10,000-row workbook through the real server with the check (IMPORT_NEAR_DUPLICATES on) and
without it (a second server, off), all taken in turns, medians of --runs; and the finder's peak
memory (tracemalloc) on --memory-rows new people staged in one job.
"""

import argparse
import contextlib
import io
import os
import random
import statistics
import sys
import time
import tracemalloc
import unicodedata
from collections import Counter
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    BENCH_DB,
    login,
    prepared_database,
    print_table,
    running_stack,
    upload,
    xlsx_file,
)

SEED = 24
FIRST = [
    "Kwame",
    "Kwabena",
    "Kwaku",
    "Yaw",
    "Kofi",
    "Kwasi",
    "Kojo",
    "Akosua",
    "Adwoa",
    "Abena",
    "Akua",
    "Yaa",
    "Afua",
    "Ama",
    "Efua",
    "Esi",
    "Emmanuel",
    "Samuel",
    "Daniel",
    "Isaac",
    "Joseph",
    "Michael",
    "Prince",
    "Richard",
    "Eric",
    "Francis",
    "Grace",
    "Mercy",
    "Comfort",
    "Gifty",
    "Patience",
    "Joyce",
    "Esther",
    "Mavis",
    "Linda",
    "Priscilla",
    "Felicia",
    "Vida",
    "Rita",
    "Dorcas",
]
LAST = [
    "Mensah",
    "Owusu",
    "Boateng",
    "Asante",
    "Osei",
    "Agyeman",
    "Appiah",
    "Darko",
    "Addo",
    "Ofori",
    "Amoah",
    "Antwi",
    "Badu",
    "Danso",
    "Frimpong",
    "Gyamfi",
    "Kusi",
    "Nkansah",
    "Ansah",
    "Bonsu",
    "Quaye",
    "Tetteh",
    "Lartey",
    "Annan",
    "Nyarko",
    "Sarpong",
    "Yeboah",
    "Acheampong",
    "Adjei",
    "Amponsah",
    "Asamoah",
    "Baffour",
    "Donkor",
    "Fosu",
    "Gyasi",
    "Konadu",
    "Larbi",
    "Manu",
    "Opoku",
    "Tawiah",
]
# Operators' prefixes; 24 is left to the workbook the preview is timed with (bench.common).
PREFIXES = ("54", "55", "59", "20", "50", "26", "56", "27", "57", "23", "28")
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
COMPANIES = [f"{name} {kind}" for name in LAST for kind in ("Trading", "Enterprise", "Ventures")]

KINDS = (
    "phone_one_digit_apart",
    "phone_digits_swapped",
    "names_swapped",
    "same_email_local_part",
    "same_company_phone_tail",
)
PLANTED_STORED = 150  # of each kind, against a stored customer
PLANTED_ROWS = 50  # of each kind, against an earlier row
DISTRACTORS = 200  # of each kind
BATCH = 10_000


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    phone: str
    email: str | None
    company: str


def random_phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = f"+233{rng.choice(PREFIXES)}{rng.randrange(10_000_000):07d}"
        if phone not in taken:
            taken.add(phone)
            return phone


def random_person(rng: random.Random, taken: set[str], serial: int) -> Person:
    """A new person. Most have an email; a third of those the plain first.last, which many
    namesakes want, so it is taken at the provider chosen often and the next namesake gets
    another provider (or a number); the others first.last and a number."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = None
    if rng.random() < 0.7:
        plain = f"{first.lower()}.{last.lower()}"
        free = [d for d in DOMAINS if f"{plain}@{d}" not in taken]
        if rng.random() < 1 / 3 and free:
            email = f"{plain}@{rng.choice(free)}"
        else:
            email = f"{plain}{serial}@{rng.choice(DOMAINS)}"
        taken.add(email)
    company = rng.choice(COMPANIES) if rng.random() < 0.2 else ""
    return Person(first, last, random_phone(rng, taken), email, company)


def one_digit_apart(rng: random.Random, phone: str) -> str:
    position = len(phone) - 1 - rng.randrange(9)
    digit = rng.choice([d for d in "0123456789" if d != phone[position]])
    return phone[:position] + digit + phone[position + 1 :]


def digits_swapped(rng: random.Random, phone: str) -> str:
    pairs = [n for n in range(len(phone) - 9, len(phone) - 1) if phone[n] != phone[n + 1]]
    n = rng.choice(pairs)
    return phone[:n] + phone[n + 1] + phone[n] + phone[n + 2 :]


def written_otherwise(rng: random.Random, name: str) -> str:
    """The name as someone else typed it: upper case, lower case, or with an accent."""
    how = rng.randrange(3)
    if how == 0:
        return name.upper()
    if how == 1:
        return name.lower()
    vowel = next((n for n, c in enumerate(name) if c in "aeo"), None)
    if vowel is None:
        return name
    return unicodedata.normalize("NFC", name[: vowel + 1] + "\u0301" + name[vowel + 1 :])


def slipped(rng: random.Random, kind: str, original: Person) -> Person:
    """A row of `kind` made from `original`: the same person entered again with that slip
    (its phone may be someone's: _slip_unclashing tries again then)."""
    first, last = original.first, original.last
    if rng.random() < 0.3:
        first, last = written_otherwise(rng, first), written_otherwise(rng, last)
    if kind == "phone_one_digit_apart":
        return Person(first, last, one_digit_apart(rng, original.phone), None, "")
    if kind == "phone_digits_swapped":
        return Person(first, last, digits_swapped(rng, original.phone), None, "")
    if kind == "names_swapped":
        return Person(last, first, one_digit_apart(rng, original.phone), None, "")
    if kind == "same_email_local_part":
        local = (original.email or "").split("@")[0]
        domain = rng.choice([d for d in DOMAINS if not (original.email or "").endswith(d)])
        new_phone = f"+233{rng.choice(PREFIXES)}{rng.randrange(10_000_000):07d}"
        return Person(first, last, new_phone, f"{local}@{domain}", "")
    # same_company_phone_tail: another contact, the operator's prefix mistyped.
    prefix = rng.choice([p for p in PREFIXES if p != original.phone[4:6]])
    phone = "+233" + prefix + original.phone[6:]
    return Person(rng.choice(FIRST), rng.choice(LAST), phone, None, original.company.upper())


@dataclass
class Batch:
    """The rows of the batch in order, and for each planted or distractor row (by its index in
    `rows`) what it is: (kind, target), the target a stored customer's index in `stored` or an
    earlier row's index in `rows`."""

    rows: list[Person]
    planted: dict[int, tuple[str, str, int]]
    distractors: dict[int, str]


def stored_people(rng: random.Random, count: int, taken: set[str]) -> list[Person]:
    return [random_person(rng, taken, n) for n in range(count)]


def _fits(kind: str, person: Person) -> bool:
    if kind == "same_email_local_part":
        return person.email is not None
    if kind == "same_company_phone_tail":
        return bool(person.company)
    return True


def _slip_unclashing(rng, kind, original, taken) -> Person:
    """A slip whose phone nobody holds (else it is an exact duplicate, not a near one)."""
    while True:
        row = slipped(rng, kind, original)
        if row.phone != original.phone and row.phone not in taken:
            taken.add(row.phone)
            return row


def distractor(rng: random.Random, kind: str, other: Person, taken: set[str]) -> Person:
    """A row that shares something with `other` without being the same person."""
    if kind == "relative":
        first = rng.choice([f for f in FIRST if f != other.first])
        phone = one_digit_apart(rng, other.phone)
        if phone in taken:
            phone = random_phone(rng, taken)
        taken.add(phone)
        return Person(first, other.last, phone, None, "")
    if kind == "namesake":
        return Person(other.first, other.last, random_phone(rng, taken), None, "")
    if kind == "colleague":
        return Person(
            rng.choice(FIRST), rng.choice(LAST), random_phone(rng, taken), None, other.company
        )
    # exact: the same phone, which the preview reports as a duplicate itself
    return Person(other.first, other.last, other.phone, None, "")


def make_batch(rng: random.Random, stored: list[Person], taken: set[str]) -> Batch:
    """BATCH rows: near-duplicates planted against stored customers and earlier rows,
    distractors, new people."""
    tagged: list[tuple[Person, tuple[str, str, int] | None, str | None]] = []
    if stored:
        for kind in KINDS:
            fitting = [n for n, p in enumerate(stored) if _fits(kind, p)]
            for target in rng.sample(fitting, PLANTED_STORED):
                row = _slip_unclashing(rng, kind, stored[target], taken)
                tagged.append((row, (kind, "customer", target), None))
        for kind in ("relative", "namesake", "colleague", "exact"):
            pool = [n for n, p in enumerate(stored) if kind != "colleague" or p.company]
            for target in rng.sample(pool, DISTRACTORS):
                tagged.append((distractor(rng, kind, stored[target], taken), None, kind))
    within = PLANTED_ROWS * len(KINDS)
    serial = len(stored)
    while len(tagged) < BATCH - within:
        serial += 1
        tagged.append((random_person(rng, taken, serial), None, None))
    rng.shuffle(tagged)
    # Each slip of an earlier row goes after it; originals are taken from the first half.
    originals = iter(rng.sample(range(len(tagged) // 2), len(tagged) // 2))
    inserts: list[tuple[int, Person, str, int]] = []
    for kind in KINDS:
        for _ in range(PLANTED_ROWS):
            index = next(
                n
                for n in originals
                if tagged[n][1] is None and tagged[n][2] is None and _fits(kind, tagged[n][0])
            )
            row = _slip_unclashing(rng, kind, tagged[index][0], taken)
            inserts.append((rng.randrange(index + 1, len(tagged)), row, kind, index))
    rows = [person for person, _, _ in tagged]
    planted = {n: truth for n, (_, truth, _) in enumerate(tagged) if truth}
    distractors = {n: kind for n, (_, _, kind) in enumerate(tagged) if kind}
    # Appended, then moved to their places from the end, so no index seen above moves.
    order = list(range(len(rows)))
    for after, row, kind, index in sorted(inserts, key=lambda insert: -insert[0]):
        rows.append(row)
        planted[len(rows) - 1] = (kind, "row", index)
        order.insert(after, len(rows) - 1)
    position = {old: new for new, old in enumerate(order)}
    return Batch(
        rows=[rows[old] for old in order],
        planted={
            position[n]: (kind, where, position[t] if where == "row" else t)
            for n, (kind, where, t) in planted.items()
        },
        distractors={position[n]: kind for n, kind in distractors.items()},
    )


def seed(people: list[Person]) -> dict[int, int]:
    """COPYs the stored people in as customers, then ANALYZE; returns their ids by index."""
    from django.db import connection

    lines = io.StringIO()
    for n, p in enumerate(people):
        email = p.email or "\\N"
        lines.write(
            f"!\tf\t{p.phone}\t{email}\tNB {n}\t{p.first}\t{p.last}\t\t{p.company}\tASHANTI\t"
            "CUSTOMER\tINDIVIDUAL\t[]\tf\tt\tf\t2026-01-01T00:00:00+00:00\tf\n"
        )
    lines.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            "COPY users_user (password, is_superuser, phone, email, shipping_mark, first_name, "
            "last_name, nickname, company_name, region, user_role, user_type, "
            "accessible_warehouses, is_verified, is_active, is_staff, date_joined, "
            "email_unproven) FROM STDIN",
            lines,
        )
        cursor.execute("ANALYZE users_user")
        cursor.execute("SELECT phone, id FROM users_user WHERE shipping_mark LIKE 'NB %%'")
        ids = dict(cursor.fetchall())
    return {n: ids[p.phone] for n, p in enumerate(people)}


def staged(people: list[Person]):
    """A job (of the bench's admin) holding these people as rows to create, in order, each
    numbered in the file as the preview numbers it (its index + 2)."""
    from users.customers.rules import CUSTOMER_FIELDS, clean_text
    from users.imports import stored_rows
    from users.imports.stored_rows import Outcome
    from users.models import ImportJob, User

    job = ImportJob.objects.create(owner=User.objects.filter(is_superuser=True).first())
    rows = []
    for n, p in enumerate(people):
        email = p.email.lower() if p.email else None
        fields = dict.fromkeys(CUSTOMER_FIELDS)
        fields.update(
            first_name=clean_text(p.first, max_length=50),
            last_name=clean_text(p.last, max_length=50),
            phone=p.phone,
            email=email,
            company_name=p.company,
            shipping_mark=f"NEW {n}",
        )
        rows.append((n, n + 2, Outcome.CREATE, True, *fields.values(), email, f"NEW {n}", "", "[]"))
    for start in range(0, len(rows), 2000):
        stored_rows.stage(job.pk, rows[start : start + 2000])
    return job.pk


def finder_once(job_id) -> tuple[float, dict]:
    from users.imports.resemblance import near_duplicates

    started = time.perf_counter()
    found = near_duplicates(job_id)
    return time.perf_counter() - started, found


def finder_peak_mb(job_id) -> float:
    """The finder's peak of Python memory on the job (tracemalloc), in MB."""
    from users.imports.resemblance import near_duplicates

    tracemalloc.start()
    near_duplicates(job_id)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def quality(batch: Batch, found, ids: dict[int, int]) -> list[list]:
    """Precision and recall of each rule, and overall."""

    def right(n: int) -> bool:
        truth = batch.planted.get(n)
        if truth is None:
            return False
        _, where, target = truth
        flag = found[n]
        if where == "customer":
            return flag.customer_id == ids[target]
        return flag.row == target + 2

    flags = Counter(f.reason for f in found.values())
    correct = Counter(f.reason for n, f in found.items() if right(n))
    planted = Counter(kind for kind, _, _ in batch.planted.values())
    caught = Counter(kind for n, (kind, _, _) in batch.planted.items() if n in found and right(n))
    table = []
    for kind in KINDS:
        precision = correct[kind] / flags[kind] if flags[kind] else float("nan")
        table.append(
            [
                kind,
                planted[kind],
                caught[kind],
                flags[kind],
                f"{precision:.3f}",
                f"{caught[kind] / planted[kind]:.3f}",
            ]
        )
    total_flags, total_correct = sum(flags.values()), sum(correct.values())
    total_planted, total_caught = sum(planted.values()), sum(caught.values())
    table.append(
        [
            "all",
            total_planted,
            total_caught,
            total_flags,
            f"{total_correct / total_flags:.3f}",
            f"{total_caught / total_planted:.3f}",
        ]
    )
    return table


def distractors_flagged(batch: Batch, found) -> str:
    flagged = Counter(kind for n, kind in batch.distractors.items() if n in found)
    others = sum(1 for n in found if n not in batch.planted and n not in batch.distractors)
    counts = ", ".join(
        f"{kind} {flagged[kind]}/{DISTRACTORS}"
        for kind in ("relative", "namesake", "colleague", "exact")
    )
    return f"distractors flagged: {counts}; new people flagged: {others}"


def timed(
    env: dict, password: str, job_id, runs: int, preview: bool
) -> tuple[float, float | None, float | None, dict]:
    """Medians of `runs` of the finder on the staged job and, when `preview`, of the preview of
    a BATCH-row workbook through a server with the check and through one without it, taken in
    turns so that all three meet the same load; and what the finder found."""
    finder_times: list[float] = []
    with_check: list[float] = []
    without_check: list[float] = []
    found: dict = {}
    path = xlsx_file(BATCH, phone_start=0)
    with contextlib.ExitStack() as stack:
        if preview:
            checked, _ = stack.enter_context(running_stack(env))
            unchecked, _ = stack.enter_context(
                running_stack({**env, "IMPORT_NEAR_DUPLICATES": "false"})
            )
            auths = {base: login(base, password) for base in (checked, unchecked)}
        for _ in range(runs):
            seconds, found = finder_once(job_id)
            finder_times.append(seconds)
            if preview:
                for base, times in ((checked, with_check), (unchecked, without_check)):
                    started = time.perf_counter()
                    upload(base, auths[base], path).raise_for_status()
                    times.append(time.perf_counter() - started)
    return (
        statistics.median(finder_times),
        statistics.median(with_check) if with_check else None,
        statistics.median(without_check) if without_check else None,
        found,
    )


def load_average() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory-rows", type=int, default=100_000)
    parser.add_argument("--no-preview", action="store_true", help="time the finder alone")
    args = parser.parse_args()
    load_start = load_average()
    env, password = prepared_database(f"{BENCH_DB}_near")
    os.environ.update(env)
    import django

    django.setup()

    rng = random.Random(SEED)
    taken: set[str] = set()
    stored = stored_people(rng, args.stored, taken)
    empty_batch = make_batch(random.Random(SEED), [], set())
    batch = make_batch(rng, stored, taken)

    preview = not args.no_preview
    finder_empty, checked_empty, unchecked_empty, _ = timed(
        env, password, staged(empty_batch.rows), args.runs, preview
    )
    ids = seed(stored)
    finder_full, checked_full, unchecked_full, found = timed(
        env, password, staged(batch.rows), args.runs, preview
    )
    timings = [
        [0, finder_empty, checked_empty, unchecked_empty],
        [args.stored, finder_full, checked_full, unchecked_full],
    ]
    memory_rows = args.memory_rows
    peak = finder_peak_mb(staged(stored_people(random.Random(SEED + 1), memory_rows, set())))
    load_end = load_average()

    print(f"load average {load_start} at the start, {load_end} at the end")
    print_table(
        f"{BATCH:,} rows against {args.stored:,} customers: {PLANTED_STORED} planted of each "
        f"kind against customers, {PLANTED_ROWS} against earlier rows",
        ["rule", "planted", "caught", "flagged", "precision", "recall"],
        quality(batch, found, ids),
    )
    print()
    print(distractors_flagged(batch, found))
    print_table(
        f"The preview of a {BATCH:,}-row workbook with the check and without it, and the finder "
        f"alone on {BATCH:,} staged rows (medians of {args.runs}, taken in turns)",
        ["customers stored", "finder s", "preview with s", "preview without s", "with / without"],
        [
            [
                f"{stored_count:,}",
                f"{finder:.3f}",
                f"{checked:.2f}" if checked else "-",
                f"{unchecked:.2f}" if unchecked else "-",
                f"{checked / unchecked:.2f}x" if checked and unchecked else "-",
            ]
            for stored_count, finder, checked, unchecked in timings
        ],
    )
    print()
    print(
        f"finder's peak Python memory (tracemalloc) on {memory_rows:,} new people staged in one "
        f"job, against {args.stored:,} customers: {peak:.1f} MB"
    )


if __name__ == "__main__":
    main()
