"""Header matching on its own: which first rows are data, which header typos are guessed, and how
an admin's choices go over the matching."""

import datetime

import pytest

from users.errors import FileError
from users.excel import columns


@pytest.mark.parametrize(
    "cells",
    [
        ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241234567"],
        ["PM GOLD", "Kwame", "Mensah", None, 241234567],
        ["PM GOLD", "Kwame", "Mensah", "", "+233 24 123 4567"],
        ["KWAME PM", datetime.date(2026, 3, 2), None, "SHOES", 12],
    ],
)
def test_a_first_row_with_a_phone_an_email_a_number_or_a_date_is_data(cells):
    assert columns.first_row_is_data(cells) is True


@pytest.mark.parametrize(
    "cells",
    [
        ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS"],
        ["A_SHIPPING_MARK", "B_DATE_RECEIPT", "C_DATE_LOADING", "H_TRACKING_NO"],
        ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number"],
        ["Mark", "First", "Last"],
        ["Item", "Colour", "Size"],
    ],
)
def test_a_first_row_of_text_without_a_phone_or_email_is_a_header(cells):
    assert columns.first_row_is_data(cells) is False


@pytest.mark.parametrize(
    ("header", "field", "taken_for"),
    [
        ("Phnoe", "phone", "Phone Number"),
        ("Frist name", "first_name", "First Name"),
        ("Lsat Name", "last_name", "Last Name"),
        ("Emial", "email", "Email"),
        ("Shiping Mark", "shipping_mark", "Shipping Mark"),
        ("Regoin", "region", "Region"),
    ],
)
def test_a_header_a_typo_or_two_away_is_guessed(header, field, taken_for):
    mapped = columns.match_headers(["x", header])

    assert mapped.fields == {field: 1}
    assert mapped.guessed == {field: taken_for}


@pytest.mark.parametrize("header", ["Tle", "Notes", "Telegram", "Date", "CTNS", "Ref"])
def test_a_short_or_distant_header_is_not_guessed(header):
    mapped = columns.match_headers([header])

    assert mapped.fields == {}
    assert mapped.unmapped == [header]


def test_an_exact_header_wins_over_a_guess_for_the_same_field():
    mapped = columns.match_headers(["Phnoe", "Phone"])

    assert mapped.fields == {"phone": 1}
    assert mapped.guessed == {}
    assert mapped.unmapped == ["Phnoe"]


def test_choices_by_header_text_and_by_letter_go_over_the_matching():
    mapped = columns.match_headers(["First Name", "Last Name", "Phone", "Mobile No."])

    chosen = columns.apply_choices(mapped, {"phone": "mobile no", "nickname": "c"}, width=4)

    assert chosen.fields == {"first_name": 0, "last_name": 1, "phone": 3, "nickname": 2}
    assert chosen.chosen == ("phone", "nickname")


def test_a_letter_past_the_last_column_is_an_unknown_column():
    mapped = columns.match_headers(["First Name", "Last Name", "Phone"])

    with pytest.raises(FileError) as raised:
        columns.apply_choices(mapped, {"email": "D"}, width=3)

    assert raised.value.code == "invalid_column_mapping"
    assert raised.value.errors["column_mapping"]["email"][0]["code"] == "unknown_column"
