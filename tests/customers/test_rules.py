import unicodedata

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unicode import full_width
from users.customers import phones
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


@pytest.mark.parametrize(
    "value",
    [
        "sa@ex\u0430mple.com",  # Cyrillic a among Latin letters of a domain label
        "sa@\u0435x\u0430mple.com",  # two of them
        "sa@example.\u0441\u043e\u043c",  # a label all in Cyrillic look-alikes: com
    ],
)
def test_an_email_that_would_look_like_a_latin_address_is_refused(value):
    with pytest.raises(FieldError) as error:
        normalize.normalize_email(value)
    assert error.value.code == "invalid_email"


@pytest.mark.parametrize("value", ["sa@b\u00fccher.de", "sa@example.com", "sa@\u738b\u82b3.cn"])
def test_an_email_with_a_domain_in_one_script_or_of_accented_latin_is_kept(value):
    assert normalize.normalize_email(value) == value


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


# --- the shortcuts agree with the libraries they stand in for --------------------------------


def phonenumbers_e164(text: str, region: str = "GH") -> str | None:
    """What phonenumbers alone makes of `text`: its E.164 form, or None when it is not valid."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def rules_e164(value: object, region: str = "GH") -> str | None:
    try:
        return normalize.normalize_phone(value, region=region)
    except FieldError as error:
        code = error.code
    assert code in ("invalid_phone", "required")
    return None


def spaced(digits: str, cuts: list[int]) -> str:
    """`digits` with a space at each cut, as people group a number."""
    for cut in sorted(set(cuts), reverse=True):
        if 0 < cut < len(digits):
            digits = digits[:cut] + " " + digits[cut:]
    return digits


# Every range of Ghana's numbers: each first digit, each first two digits of the mobile and
# fixed ranges, toll-free 800, and lengths around the right one.
ghana_national = st.one_of(
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    st.from_regex(r"[235][0-9]{8}", fullmatch=True),
    st.from_regex(r"(2[0-9]|5[0-9]|3[0-9])[0-9]{7}", fullmatch=True),
    st.from_regex(r"800[0-9]{4,7}", fullmatch=True),
)
ghana_shapes = st.sampled_from(
    ["0{n}", "{n}", "+233{n}", "233{n}", "00233{n}", "+2330{n}", "2330{n}", "+233 {n}", "(0{n})"]
)


@settings(max_examples=2000, deadline=None)
@given(national=ghana_national, shape=ghana_shapes, cuts=st.lists(st.integers(1, 14), max_size=3))
def test_every_ghana_number_gets_what_phonenumbers_gives_it(national, shape, cuts):
    text = spaced(shape.format(n=national), cuts)

    assert rules_e164(text) == phonenumbers_e164(normalize._phone_text(text))
    shortcut = phones.known_shape_e164(text, "GH")
    assert shortcut in (None, phonenumbers_e164(text))


@settings(max_examples=500, deadline=None)
@given(national=st.from_regex(r"[235][0-9]{8}", fullmatch=True), shape=ghana_shapes)
def test_valid_ghana_numbers_in_the_common_shapes_take_the_shortcut(national, shape):
    text = shape.format(n=national)
    expected = phonenumbers_e164(text)
    # Left to phonenumbers: the rare shapes, and nine digits that begin like the country code.
    rare = shape in ("00233{n}", "+2330{n}", "2330{n}", "(0{n})")
    if expected is None or rare or (shape == "{n}" and national.startswith("233")):
        return

    assert phones.known_shape_e164(text, "GH") == expected


def example_numbers() -> list[phonenumbers.PhoneNumber]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
            phonenumbers.PhoneNumberType.VOIP,
        ):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(number)
    return found


EXAMPLES = example_numbers()
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
]
DEFAULT_REGIONS = ["GH", "NG", "KE", "GB", "US", "DE", "IT", "FR", "CI", "TG", "CN", "IN"]


@settings(max_examples=2000, deadline=None)
@given(
    number=st.sampled_from(EXAMPLES),
    number_format=st.sampled_from(FORMATS),
    region=st.sampled_from(DEFAULT_REGIONS),
    tweak=st.sampled_from(["", "drop", "add", "digits"]),
)
def test_other_countries_numbers_get_what_phonenumbers_gives_them(
    number, number_format, region, tweak
):
    text = phonenumbers.format_number(number, number_format)
    if tweak == "drop":
        text = text[:-1]
    elif tweak == "add":
        text += "7"
    elif tweak == "digits":
        text = "".join(c for c in text if c.isdigit())

    assert rules_e164(text, region) == phonenumbers_e164(normalize._phone_text(text), region)
    assert phones.known_shape_e164(text, region) in (None, phonenumbers_e164(text, region))


def django_accepts_email(text: str) -> bool:
    try:
        EmailValidator()(text)
    except ValidationError:
        return False
    return True


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.emails(),
        st.text(max_size=40).map(lambda t: t + "@example.com"),
        st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=20)),
        st.from_regex(r"[a-z.\-_+]{0,10}@[a-z0-9.\-\[\]:]{0,20}", fullmatch=True),
    )
)
def test_email_verdicts_are_djangos(text):
    assert normalize.email_valid(text) == django_accepts_email(text)


def slow_clean(text: str) -> str:
    """clean_text's full way, for comparing its shortcut with."""
    text = unicodedata.normalize("NFKC", text).translate(normalize._TRANSLATE)
    return normalize._WHITESPACE_RUN.sub(" ", text).strip()


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1))
def test_printable_ascii_is_cleaned_as_the_full_way_cleans_it(text):
    assert normalize.clean_text(text, max_length=10_000) == slow_clean(text)
