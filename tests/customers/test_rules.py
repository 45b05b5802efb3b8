import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unicode import full_width
from users.customers import rules as normalize
from users.customers.rules import FieldError


@pytest.mark.parametrize(
    "value",
    [
        "0241234567",
        "241234567",
        241234567,
        241234567.0,
        "241234567.0",
        "+233 24 123 4567",
        "233241234567",
        "00233241234567",
        "(024) 123-4567",
        "2.41234567E+08",
        " 024 123 4567\u200b",
    ],
)
def test_every_way_of_writing_a_ghana_number_is_one_e164(value):
    assert normalize.normalize_phone(value) == "+233241234567"


def test_a_foreign_number_keeps_its_country():
    assert normalize.normalize_phone("+44 7911 123456") == "+447911123456"


@pytest.mark.parametrize("value", ["12", "024123456", "abc", "0241234567 / 0201234567", "+999"])
def test_not_a_phone_number(value):
    with pytest.raises(FieldError) as error:
        normalize.normalize_phone(value)
    assert error.value.code == "invalid_phone"


def test_a_blank_phone_is_required():
    with pytest.raises(FieldError) as error:
        normalize.normalize_phone("  ")
    assert error.value.code == "required"


def test_email_is_lower_cased_and_blank_is_none():
    assert normalize.normalize_email(" Kwame@Example.COM ") == "kwame@example.com"
    assert normalize.normalize_email("") is None
    assert normalize.normalize_email(None) is None


@pytest.mark.parametrize("value", ["kwame", "kwame@", "@example.com", "a b@example.com"])
def test_invalid_emails(value):
    with pytest.raises(FieldError) as error:
        normalize.normalize_email(value)
    assert error.value.code == "invalid_email"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("pm 1 kwame", "PM 1 KWAME"), ("  PM   1\tKWAME ", "PM 1 KWAME"), ("", ""), ("ab", "AB")],
)
def test_shipping_mark_is_upper_cased_with_spaces_collapsed(value, expected):
    assert normalize.normalize_shipping_mark(value) == expected


@pytest.mark.parametrize("value", ["A", "=SUM(A1)", "+1", "-2+3", "@X", "PM*1", "x" * 101])
def test_invalid_shipping_marks(value):
    with pytest.raises(FieldError) as error:
        normalize.normalize_shipping_mark(value)
    assert error.value.code in {"invalid_shipping_mark", "too_long"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("north east", "NORTH_EAST"),
        ("NORTH_EAST", "NORTH_EAST"),
        ("Greater Accra", "GREATER_ACCRA"),
        ("greater-accra region", "GREATER_ACCRA"),
        ("brong ahafo", "BRONG_AHAFO"),
        ("", "GREATER_ACCRA"),
    ],
)
def test_region_by_code_or_name(value, expected):
    assert normalize.normalize_region(value) == expected


def test_an_unknown_region():
    with pytest.raises(FieldError) as error:
        normalize.normalize_region("Lagos")
    assert error.value.code == "invalid_region"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("BUSINESS", "BUSINESS"),
        ("business", "BUSINESS"),
        (" Individual ", "INDIVIDUAL"),
        ("", "INDIVIDUAL"),
        (None, "INDIVIDUAL"),
    ],
)
def test_user_type_by_code_or_label_blank_is_individual(value, expected):
    assert normalize.normalize_user_type(value) == expected


def test_an_unknown_user_type():
    with pytest.raises(FieldError) as error:
        normalize.normalize_user_type("Company")
    assert error.value.code == "invalid_user_type"


def test_text_is_nfc_trimmed_and_cleaned():
    decomposed = "Kwa\u0301me"  # a + combining acute
    assert normalize.clean_text(f" {decomposed}\u00a0Kofi\u200b ", max_length=50) == "Kwáme Kofi"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\u202e", "\u2066", "\u200f", "\x7f"])
def test_control_and_bidi_characters_are_refused(char):
    with pytest.raises(FieldError) as error:
        normalize.clean_text(f"Ama{char}Owusu", max_length=50)
    assert error.value.code == "invalid_characters"


def test_length_is_counted_after_cleaning():
    assert normalize.clean_text("  " + "a" * 50 + "  ", max_length=50) == "a" * 50
    with pytest.raises(FieldError) as error:
        normalize.clean_text("a" * 51, max_length=50)
    assert error.value.code == "too_long"


def test_generated_mark_uses_six_letters_of_the_first_name():
    assert normalize.shipping_mark_base("Christiana") == "PM 1 CHRIST"
    assert normalize.shipping_mark_base("Jo") == "PM 1 JO"
    assert normalize.shipping_mark_base("J.") == "PM 1 JX"
    assert normalize.shipping_mark_candidates("PM 1 JO", count=3) == [
        "PM 1 JO",
        "PM 1 JO02",
        "PM 1 JO03",
    ]


@given(st.text(max_size=80))
def test_clean_text_never_returns_control_characters_or_edge_spaces(text):
    try:
        cleaned = normalize.clean_text(text, max_length=1000)
    except FieldError as error:
        refused = error.code
    else:
        refused = None
    if refused:
        assert refused == "invalid_characters"
        return
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in cleaned)
    assert normalize.clean_text(cleaned, max_length=1000) == cleaned


@given(st.integers(min_value=200000000, max_value=599999999))
def test_normalised_phones_are_stable(national):
    try:
        phone = normalize.normalize_phone(f"0{national}")
    except FieldError:
        return
    assert normalize.normalize_phone(phone) == phone
    assert normalize.normalize_phone(phone[1:]) == phone


# --- NFKC, invisible characters, look-alike marks ----------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (full_width("KWAME PM"), "KWAME PM"),  # full-width letters and space
        (full_width("PM\u30001\u3000KWAME"), "PM 1 KWAME"),  # ideographic spaces, full-width digit
        ("PM ﬁne", "PM FINE"),  # the fi ligature
        ("PM Ⅻ", "PM XII"),  # a Roman numeral sign
        (full_width("pm kofi²"), "PM KOFI2"),
    ],
)
def test_a_shipping_mark_in_compatibility_forms_is_stored_as_its_plain_letters(value, expected):
    assert normalize.normalize_shipping_mark(value) == expected


def test_names_are_nfkc_too():
    assert normalize.clean_text(full_width("Kwame"), max_length=50) == "Kwame"
    assert normalize.clean_text("Ra\ufb00a", max_length=50) == "Raffa"


@pytest.mark.parametrize(
    "value",
    [
        "\u3164",  # Hangul filler: a blank-looking mark
        "\u3164\u3164\u3164",
        "KWAME\u3164PM",
        "\uffa0\uffa0",  # half-width Hangul filler
        "PM \u115f1",  # Hangul choseong filler
        "KWAME PM\ufe0f",  # a variation selector
        "PM\u034f 1",  # combining grapheme joiner
        "PM \u2800 1",  # Braille blank
        "PM 1\U000e0041",  # a tag character
    ],
)
def test_a_shipping_mark_with_an_invisible_character_is_refused(value):
    with pytest.raises(FieldError) as error:
        normalize.normalize_shipping_mark(value)
    assert error.value.code == "invalid_characters"
    assert "U+" in error.value.message


@pytest.mark.parametrize(
    "value",
    ["Ama\U000e0041\U000e0042", "Ama\U000e007f", "\U000e0001Ama", "Ama\U000f0000", "Ama\u0378"],
)
def test_a_name_with_tag_private_use_or_unassigned_characters_is_refused(value):
    with pytest.raises(FieldError) as error:
        normalize.clean_text(value, max_length=50)
    assert error.value.code == "invalid_characters"


@pytest.mark.parametrize(
    "value",
    [
        "KW\u0410ME PM",  # Cyrillic A among Latin letters
        "PM 1 \u039a\u039f\u03a6\u0399",  # Greek K O Ph I after a Latin PM
        "P\u041c 1 KWAME",  # Cyrillic M
        "\u0420\u041c 1 \u041a\u041e\u0421\u041e",  # all Cyrillic, every letter a Latin look-alike
        "\u0391\u0392\u0395",  # all Greek, every letter a Latin look-alike: ABE
    ],
)
def test_a_shipping_mark_that_would_look_like_a_latin_mark_is_refused(value):
    with pytest.raises(FieldError) as error:
        normalize.normalize_shipping_mark(value)
    assert error.value.code == "invalid_shipping_mark"


@pytest.mark.parametrize(
    "value",
    [
        "PM 1 ÉLODIE",
        "PM 1 ŁUKASZ",
        "PM 1 ØYVIND",
        "PM 王芳",  # Latin and Han: no Han letter looks Latin
        "КОФИ 1",  # all Cyrillic, and not every letter has a Latin look-alike
        "ΓΔΣ 7",
    ],
)
def test_marks_in_one_script_or_with_letters_that_look_like_no_latin_one_are_kept(value):
    assert normalize.normalize_shipping_mark(value) == value.upper()


def test_a_name_may_mix_scripts():
    # Names are not unique keys; only a mark could pass for another customer's.
    assert normalize.clean_text("Kw\u0430me", max_length=50) == "Kw\u0430me"


@given(st.text(max_size=40))
def test_a_normalised_mark_normalises_to_itself(text):
    try:
        mark = normalize.normalize_shipping_mark(text)
    except FieldError:
        return
    assert normalize.normalize_shipping_mark(mark) == mark
