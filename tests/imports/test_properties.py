"""Properties of the whole pipeline over generated inputs: every row is accounted for exactly
once, and importing the same rows again creates nothing."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import preview, queue, run
from users.customers import selectors
from users.customers.rules import CUSTOMER_FIELDS
from users.imports import clashes
from users.imports.stored_rows import stage
from users.models import ImportJob, ImportRowError, User

pytestmark = pytest.mark.django_db

PHONES = ["0241000001", "+233 24 100 0001", "0241000002", "241000003", "0201000004", "bad", ""]
EMAILS = ["", "a@example.com", "A@EXAMPLE.COM", "b@example.com", "not-an-email"]
MARKS = ["", "", "PM GOLD", "pm  gold", "PM SILVER", "=SUM(A1)"]
NAMES = ["Kwame", "Ama", "", "x" * 60, "Kofi\u202e", "  Yaw  "]
REGIONS = ["", "Ashanti", "north east", "Mars"]

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "phone": st.sampled_from(PHONES),
            "email": st.sampled_from(EMAILS),
            "shipping_mark": st.sampled_from(MARKS),
            "first_name": st.sampled_from(NAMES),
            "last_name": st.sampled_from(NAMES),
            "region": st.sampled_from(REGIONS),
        }
    ),
    min_size=1,
    max_size=25,
)
property_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def rolled_back(body):
    """Runs `body` and undoes what it wrote, so each example starts from the same database."""
    with transaction.atomic():
        body()
        transaction.set_rollback(True)


@pytest.fixture
def owner():
    return StaffFactory(phone="+233209999999", email="owner@example.com", shipping_mark="OWNER")


@property_settings
@given(rows=rows_strategy, taken_after_preview=st.booleans())
def test_every_row_is_created_invalid_duplicate_or_failed_exactly_once(
    owner, rows, taken_after_preview
):
    def body():
        job = queue(preview(owner, rows))
        if taken_after_preview:
            CustomerFactory(
                phone="+233241000002", email="elsewhere@example.com", shipping_mark="X1"
            )
        run(job)
        job.refresh_from_db()

        created = User.objects.filter(import_job=job).count()
        failed_rows = ImportRowError.objects.filter(job=job, at_run=True).values("row").distinct()
        assert job.status == ImportJob.Status.COMPLETE
        assert created == job.created_count
        assert failed_rows.count() == job.failed_count
        assert (
            job.created_count
            + job.failed_count
            + job.invalid_count
            + job.existing_duplicate_count
            + job.batch_duplicate_count
        ) == len(rows)
        assert job.created_count + job.failed_count == job.to_create_count

    rolled_back(body)


@property_settings
@given(rows=rows_strategy)
def test_importing_the_same_rows_twice_creates_nothing_the_second_time(owner, rows):
    def body():
        first = queue(preview(owner, rows))
        run(first)
        first.refresh_from_db()
        before = User.objects.count()

        second = preview(owner, rows)

        # Every valid row now clashes with a customer the first import created.
        assert second.to_create_count == 0
        assert second.batch_duplicate_count == 0
        assert second.invalid_count == first.invalid_count
        assert second.existing_duplicate_count == len(rows) - first.invalid_count
        queue(second)
        run(second)
        assert User.objects.count() == before

    rolled_back(body)


# --- an update's lookups ---------------------------------------------------------------------

# The keys of rows as _keys_of folds them: phones as stored, emails lower-case, marks upper-case.
KEY_PHONES = [None, "+233241000001", "+233241000002", "+233241000003", "+233209999999", "+233551"]
KEY_EMAILS = [
    None,
    "a@example.com",
    "b@example.com",
    "c@example.com",
    "owner@example.com",
    "n@x.io",
]
KEY_MARKS = [None, "PM A", "PM B", "PM C", "OWNER", "PM NEW"]


@pytest.fixture
def stored_users(owner):
    """Customers holding the pools' values (one stored in other cases, one without an email),
    and the staff owner holding the fourth of each."""
    CustomerFactory(phone="+233241000001", email="a@example.com", shipping_mark="PM A")
    CustomerFactory(phone="+233241000002", email="B@Example.COM", shipping_mark="pm b")
    CustomerFactory(phone="+233241000003", email=None, shipping_mark="PM C")
    CustomerFactory(phone="+233241000009", email="c@example.com", shipping_mark="PM D")


def _staged(job, values) -> None:
    """Valid rows holding these keys, staged for the job as a preview stages them."""
    empty = dict.fromkeys(CUSTOMER_FIELDS)
    stage(
        job.pk,
        [
            (i, i + 2, "c", True, *{**empty, "phone": p}.values(), e, m, "", "[]")
            for i, (p, e, m) in enumerate(values)
        ],
    )


@property_settings
@given(
    values=st.lists(
        st.tuples(
            st.sampled_from(KEY_PHONES), st.sampled_from(KEY_EMAILS), st.sampled_from(KEY_MARKS)
        ),
        min_size=1,
        max_size=30,
    ),
    anchor=st.sampled_from(["phone", "email", "shipping_mark"]),
)
def test_the_staged_rows_join_finds_what_looking_up_every_value_finds(
    stored_users, owner, values, anchor
):
    """Joining the staged rows with the users' unique indexes names, for every row, the users
    that looking up its values one row at a time (selectors.Clashes) names, in the same order,
    and reads each as an import sees it, whichever field's holder is read with the row (the
    others' are probed only for a value that holder does not hold)."""

    def body():
        job = ImportJob.objects.create(owner=owner)
        _staged(job, values)

        held, accounts = clashes.stored_holders(job.pk, anchor=anchor)

        for i, (p, e, m) in enumerate(values):
            one_row = selectors.Clashes([{"phone": p, "email": e, "shipping_mark": m}])
            assert held.get(i, []) == one_row.of_keys(p, e, m)
        ids = {h.id for found in held.values() for _, h in found}
        assert accounts == selectors.customer_fields_of(ids=ids)

    rolled_back(body)
