"""The near-duplicate finder (users.imports.resemblance): each rule against stored customers and
against earlier rows of the file, what it leaves alone (exact duplicates, people who only share
a name, a surname or a company), and names written with other accents, case and spaces. Rows
are staged as rows to create of a real job, as the preview stages them."""

from collections.abc import Iterable

import pytest

from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import staged_job
from users.imports import resemblance, resemblance_keys
from users.imports.resemblance import Resemblance
from users.imports.stored_rows import Outcome
from users.models import ImportStagedRow, User

pytestmark = pytest.mark.django_db

PHONE = "+233241234567"


def row(number: int = 2, **values) -> dict:
    """A row to create, numbered `number` in the file, its fields normalised."""
    given = {"first_name": "Kwame", "last_name": "Mensah", "phone": "+233551112223"}
    return {"source_row": number, **given, **values}


def near_duplicates(rows: Iterable[dict]) -> dict[int, Resemblance]:
    """What the finder says of these rows, by each one's number in the file."""
    rows = list(rows)
    found = resemblance.near_duplicates(staged_job(rows).pk)
    return {rows[position]["source_row"]: found_one for position, found_one in found.items()}


@pytest.fixture
def kwame():
    return CustomerFactory(
        first_name="Kwame",
        last_name="Mensah",
        phone=PHONE,
        email="kwame.mensah85@gmail.com",
        company_name="",
        shipping_mark="PM 1 KWAME",
    )


def test_the_same_names_with_a_phone_one_digit_apart_resemble_the_customer(kwame):
    found = near_duplicates([row(7, phone="+233241234568")])

    assert found[7].reason == resemblance.PHONE_ONE_DIGIT_APART
    assert found[7].customer_id == kwame.pk
    assert found[7].row is None
    assert found[7].message == (
        f"Same names; the phone differs by one digit from customer #{kwame.pk}'s."
    )


@pytest.mark.parametrize(
    "phone",
    ["+233541234567", "+233244234567", "+233241204567", "+233241234767", "+233241234560"],
    ids=["operator", "first block", "middle block", "last block", "last digit"],
)
def test_a_one_digit_slip_anywhere_in_the_national_number_is_found(kwame, phone):
    found = near_duplicates([row(phone=phone)])

    assert found[2].reason == resemblance.PHONE_ONE_DIGIT_APART


def test_two_neighbouring_digits_swapped_resemble_the_customer(kwame):
    found = near_duplicates([row(phone="+233241235467")])

    assert found[2].reason == resemblance.PHONE_DIGITS_SWAPPED
    assert found[2].customer_id == kwame.pk


def test_two_digits_swapped_across_two_blocks_of_the_phone_are_not_found(kwame):
    # given digits swapped across two blocks of the last nine digits (241 23|45 67): no phone
    # key is equal, the documented limit of the blocking
    found = near_duplicates([row(phone="+233241243567")])

    assert found == {}


def test_the_same_names_and_email_before_the_at_resemble_the_customer(kwame):
    found = near_duplicates([row(email="kwame.mensah85@yahoo.com")])

    assert found[2].reason == resemblance.SAME_EMAIL_LOCAL_PART
    assert found[2].message == (
        f"Same names; the email is customer #{kwame.pk}'s before the @, at another domain."
    )


def test_an_email_made_of_the_names_alone_is_no_sign_of_the_same_person():
    # given a customer whose email is first.last, as every namesake's would be
    CustomerFactory(first_name="Ama", last_name="Owusu", email="ama.owusu@gmail.com")

    # when another Ama Owusu comes with ama.owusu at another provider, or owusuama
    found = near_duplicates(
        [
            row(first_name="Ama", last_name="Owusu", email="ama.owusu@yahoo.com"),
            row(
                3,
                first_name="Ama",
                last_name="Owusu",
                email="owusu-ama@gmail.com",
                phone="+233209998887",
            ),
        ]
    )

    # then neither is taken for her
    assert found == {}


def test_first_and_last_names_swapped_with_a_phone_one_digit_apart_resemble_the_customer(kwame):
    found = near_duplicates([row(first_name="Mensah", last_name="Kwame", phone="+233241234568")])

    assert found[2].reason == resemblance.NAMES_SWAPPED
    assert found[2].message == (
        f"First and last names swapped; the phone differs by one digit from customer #{kwame.pk}'s."
    )


def test_first_and_last_names_swapped_with_the_same_email_local_part_resemble_the_customer(kwame):
    found = near_duplicates(
        [row(first_name="Mensah", last_name="Kwame", email="kwame.mensah85@outlook.com")]
    )

    assert found[2].reason == resemblance.NAMES_SWAPPED
    assert "before the @" in found[2].message


def test_the_same_company_and_phone_ending_resemble_the_customer_whatever_the_names():
    # given a business customer
    shop = CustomerFactory(company_name="Asante Trading Ltd.", phone="+233241234567")

    # when another contact of the same company comes with the operator's prefix mistyped
    found = near_duplicates(
        [
            row(
                first_name="Yaw",
                last_name="Asante",
                company_name="ASANTE TRADING",
                phone="+233501234567",
            )
        ]
    )

    # then
    assert found[2].reason == resemblance.SAME_COMPANY_PHONE_TAIL
    assert found[2].customer_id == shop.pk
    assert found[2].message == (
        f"Same company; the phone ends in the same 7 digits as customer #{shop.pk}'s."
    )


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [("KWAME", "MENSAH"), ("kwame", "mensah"), ("Kwâme", "Ménsah"), ("Kwa me", "Men-sah")],
    ids=["upper case", "lower case", "accents", "space and hyphen"],
)
def test_names_are_compared_without_case_accents_spaces_or_hyphens(kwame, first_name, last_name):
    found = near_duplicates(
        [row(first_name=first_name, last_name=last_name, phone="+233241234568")]
    )

    assert found[2].reason == resemblance.PHONE_ONE_DIGIT_APART


def test_a_stored_name_with_accents_matches_the_row_without_them():
    stored = CustomerFactory(first_name="Adwóa", last_name="Asantéwaa", phone=PHONE)

    found = near_duplicates([row(first_name="ADWOA", last_name="asantewaa", phone="+233241234568")])

    assert found[2].customer_id == stored.pk


@pytest.mark.parametrize(
    "clash",
    [
        {"phone": PHONE},
        {"email": "kwame.mensah85@gmail.com", "phone": "+233241234568"},
        {"shipping_mark": "PM 1 KWAME", "phone": "+233241234568"},
    ],
    ids=["phone", "email", "mark"],
)
def test_a_row_that_clashes_exactly_with_the_customer_is_not_a_near_duplicate_of_it(kwame, clash):
    # given a row that the preview reports as an existing duplicate (same phone, email or mark)
    # when near-duplicates are looked for
    found = near_duplicates([row(**clash)])

    # then it is not one of the customer it clashes with
    assert found == {}


def test_a_row_clashing_with_one_customer_may_still_resemble_another(kwame):
    # given a namesake of kwame holding the row's email exactly
    holder = CustomerFactory(first_name="Kwame", last_name="Mensah", email="kwame.m@gmail.com")

    # when the row's phone is one digit from kwame's
    found = near_duplicates([row(email="kwame.m@gmail.com", phone="+233241234568")])

    # then it resembles kwame, never the holder of its email
    assert found[2].customer_id == kwame.pk != holder.pk


@pytest.mark.parametrize(
    "other",
    [
        {"first_name": "Ama", "phone": "+233241234568"},
        {"last_name": "Owusu", "phone": "+233241234568"},
        {"phone": "+233241239999"},
        {"email": "kwame.mensah86@gmail.com"},
        {"first_name": "Mensah", "last_name": "Kwame", "phone": "+233209876543"},
    ],
    ids=[
        "a relative: same surname, phone one digit apart",
        "another surname, phone one digit apart",
        "a namesake: same names, phone two digits apart",
        "same names, another email",
        "names swapped, phone and email unrelated",
    ],
)
def test_people_who_only_share_some_of_it_are_not_near_duplicates(kwame, other):
    assert near_duplicates([row(**other)]) == {}


def test_colleagues_of_one_company_with_other_numbers_are_not_near_duplicates():
    CustomerFactory(company_name="Asante Trading", phone="+233241234567")

    found = near_duplicates(
        [row(company_name="Asante Trading", phone="+233241234999", first_name="Esi")]
    )

    assert found == {}


def test_a_row_resembling_an_earlier_row_of_the_file_names_that_row():
    # given two rows, no customer stored
    first = row(5, phone=PHONE)
    second = row(9, first_name="Mensah", last_name="Kwame", phone="+233241234568")

    # when
    found = near_duplicates([first, second])

    # then the later row resembles the earlier one, and not the other way round
    assert list(found) == [9]
    assert found[9].reason == resemblance.NAMES_SWAPPED
    assert found[9].row == 5
    assert found[9].customer_id is None
    assert found[9].message == (
        "First and last names swapped; the phone differs by one digit from row 5's."
    )


def test_rows_that_clash_exactly_within_the_file_are_not_near_duplicates():
    found = near_duplicates([row(2, phone=PHONE), row(3, phone=PHONE, first_name="Kwame")])

    assert found == {}


def test_a_customer_is_named_before_an_earlier_row_by_the_same_rule(kwame):
    found = near_duplicates([row(2, phone="+233241234569"), row(3, phone="+233241234568")])

    assert found[3].customer_id == kwame.pk


def test_the_strongest_rule_is_reported_when_several_hold(kwame):
    # given a second customer of the same names sharing only the email before the @
    CustomerFactory(
        first_name="Kwame",
        last_name="Mensah",
        email="kwame.mensah85@outlook.com",
        phone="+233209999999",
    )

    # when a row has both slips
    found = near_duplicates([row(email="kwame.mensah85@yahoo.com", phone="+233241234568")])

    # then the phone's rule, the stronger, names its customer
    assert found[2].reason == resemblance.PHONE_ONE_DIGIT_APART
    assert found[2].customer_id == kwame.pk


def test_staff_accounts_are_not_candidates():
    StaffFactory(first_name="Kwame", last_name="Mensah", phone=PHONE)

    assert near_duplicates([row(phone="+233241234568")]) == {}


def test_rows_are_checked_with_a_few_queries_per_chunk(kwame, django_assert_num_queries):
    # given ten staged rows, each one digit from kwame's phone in its last two digits (and so
    # from one another)
    job = staged_job(row(n, phone=f"+2332412345{n}7") for n in range(10) if n != 6)

    # when the finder reads them: the customers holding their keys in one query, the rows
    # sharing keys in another, then for the one chunk of rows with a candidate those rows and
    # those customers
    with django_assert_num_queries(4):
        found = resemblance.near_duplicates(job.pk)

    # then kwame, found for each (a customer before an earlier row)
    assert {f.customer_id for f in found.values()} == {kwame.pk}
    assert len(found) == 9


def test_the_finder_of_a_job_with_no_rows_to_create_finds_nothing():
    assert resemblance.near_duplicates(staged_job([]).pk) == {}


def test_rows_of_a_file_are_paired_by_sql_only_when_they_share_a_key():
    # given three rows: two a digit apart, one unrelated
    job = staged_job(
        [row(2, phone=PHONE), row(3, phone="+233209998887"), row(4, phone="+233241234568")]
    )

    # when the staging table is asked which rows share a key with an earlier one
    pairs = resemblance_keys.earlier_rows_sharing_a_key(job.pk, Outcome.CREATE.value)

    # then only the third row, with the first (positions 2 and 0)
    assert pairs == {2: [0]}


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("phone_but_block1", "234567"),
        ("phone_but_block2", "+2332414567"),
        ("phone_but_block3", "+2332412367"),
        ("phone_but_block4", "+2332412345"),
        ("local_part", "kwame.mensah85"),
    ],
)
def test_each_key_is_computed_alike_over_the_staged_rows_and_the_customers(kwame, kind, key):
    # given a staged row holding kwame's phone and email
    job = staged_job([row(phone=PHONE, email="kwame.mensah85@gmail.com")])
    staged = ImportStagedRow.objects.filter(job=job)
    customers = User.objects.filter(pk=kwame.pk)

    # when the key's expression is computed over each table
    expression = resemblance_keys.KEY_EXPRESSIONS[kind]

    # then both give the key
    assert staged.annotate(key=expression).values_list("key", flat=True).get() == key
    assert customers.annotate(key=expression).values_list("key", flat=True).get() == key


def test_the_rows_holding_a_key_are_the_rows_whose_key_it_is():
    # given rows whose phones differ from the first in each block, or in two, and emails whose
    # local parts hold the characters LIKE reads as wild
    phones = [
        "+233241234567",  # the row looked up
        "+233241234568",  # the last block
        "+233241234467",  # the third
        "+233241224567",  # the second
        "+233240234567",  # the first
        "+233241234576",  # two blocks: shares the first three
        "+233251234567",  # before the nine digits: shares the last six
        "+233249999999",  # nothing
        "+23324123456",  # a digit short
    ]
    emails = ["k_m%1@example.com", "kxm%1@example.com", "k_m%1@example.org", "k\\m@example.com"]
    rows = [
        row(n + 2, phone=phone, email=emails[n] if n < len(emails) else None)
        for n, phone in enumerate(phones)
    ]
    job = staged_job(rows)
    keys = resemblance_keys.row_keys(job.pk, range(len(rows)))

    # when the rows holding the first row's keys are looked up
    holders = resemblance_keys.rows_holding(job.pk, keys[0], ["c"])

    # then each key's holders are exactly the rows that hold it, as the database computes it
    expected = {
        key: [position for position, held in sorted(keys.items()) if key in held] for key in keys[0]
    }
    assert holders == expected
    local_part = next(key for key in keys[0] if key[0] == 4)
    assert holders[local_part] == [0, 2]


def test_a_newcomer_replaces_what_a_row_resembled_only_when_it_ranks_higher():
    # given a row that resembles a customer by its company (as staged), and two rows before it
    # that just became rows to create: a namesake a digit apart, and a colleague
    customer = CustomerFactory(company_name="Mensah Trading Ltd", phone="+233201112224")
    rows = [
        row(2, phone="+233551112223"),
        row(
            3,
            first_name="Yaw",
            last_name="Boateng",
            phone="+233271112224",
            company_name="Mensah Trading",
        ),
        row(4, phone="+233551112224", company_name="Mensah Trading"),
    ]
    job = staged_job(rows)
    ImportStagedRow.objects.filter(job=job, position=2).update(
        outcome=Outcome.POSSIBLE_DUPLICATE.value,
        resembles_customer_id=customer.pk,
        resemblance_code=resemblance.SAME_COMPANY_PHONE_TAIL,
        resemblance_message="Same company.",
    )

    # when it is compared with the colleague alone, it keeps the customer (a customer ranks
    # before a row under the same rule); with the namesake, the namesake ranks higher
    kept = resemblance.near_duplicates_with(job.pk, {2: {1}})[2]
    replaced = resemblance.near_duplicates_with(job.pk, {2: {0, 1}})[2]

    assert (kept.reason, kept.customer_id, kept.row) == (
        resemblance.SAME_COMPANY_PHONE_TAIL,
        customer.pk,
        None,
    )
    assert (replaced.reason, replaced.customer_id, replaced.row) == (
        resemblance.PHONE_ONE_DIGIT_APART,
        None,
        2,
    )
