"""The rules for a customer's fields, used by every path that writes one (API, import, admin).

Each function takes what a person typed or a spreadsheet cell held and returns the stored form,
or raises FieldError with one of the row error codes. None of this touches the database.
"""

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import phonenumbers
import regex
from django.conf import settings
from django.core.validators import EmailValidator

from users import models as m
from users.customers import phones
from users.excel.cells import cell_to_text
from users.models import Region, UserType

REQUIRED = "required"
TOO_LONG = "too_long"
TOO_SHORT = "too_short"
INVALID_CHARACTERS = "invalid_characters"
INVALID_PHONE = "invalid_phone"
INVALID_EMAIL = "invalid_email"
INVALID_SHIPPING_MARK = "invalid_shipping_mark"
INVALID_REGION = "invalid_region"
INVALID_USER_TYPE = "invalid_user_type"
DUPLICATE_IN_FILE = "duplicate_in_file"
DUPLICATE_EXISTING = "duplicate_existing"

# Removed silently: they are invisible and only ever arrive by copy and paste.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# Become ordinary spaces.
_ODD_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2000\u2001\u2002\u2003\u2009\u3000"), " ")
_TRANSLATE = {**_ZERO_WIDTH, **_ODD_SPACES}
# Bidirectional embeddings, overrides, isolates and marks can make a value display as something
# other than what it is (the "Trojan Source" trick), so they are refused, not stripped.
# Refused: C0 and C1 control characters (Unicode category Cc), lone surrogates (Cs, from broken
# decoding) and the bidi controls.
_REFUSED = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff"
    "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069]"
)
# Invisible or undefined characters that NFKC keeps, refused: default-ignorable code points (the
# Hangul fillers U+3164, U+FFA0 and U+115F that make a blank-looking mark, variation selectors,
# the combining grapheme joiner, tag characters U+E0000-E007F), other format characters,
# private-use and unassigned code points, and the Braille blank U+2800. Each can make two values
# that look the same compare different.
_INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Co}\p{Cn}\u2800]")
_WHITESPACE_RUN = re.compile(r"\s+")
_INTEGRAL_FLOAT_TEXT = re.compile(r"^\+?\d+\.0+$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_SHIPPING_MARK_ALLOWED = re.compile(r"^[\w][\w \-/.#&()]*$")
SHIPPING_MARK_FORM = (
    "A shipping mark starts with a letter or digit and holds only letters, digits, "
    "spaces and - / . # & ( )."
)
# The same rule on a mark as typed, before it is trimmed and its spaces collapsed (what an API
# client sends, as its schema's `pattern`): a letter or digit first, at least two characters.
SHIPPING_MARK_INPUT = r"^\s*\w[\w\s\-/.#&()]*[\w\-/.#&()]\s*$"
# ... or only spaces, where a blank mark is generated (the empty text is documented apart).
SHIPPING_MARK_INPUT_OR_BLANK = r"^\s+$|" + SHIPPING_MARK_INPUT
# The longest text taken for the fields whose stored form is shorter than what people type.
PHONE_TEXT_MAX = 64
REGION_TEXT_MAX = 64
USER_TYPE_TEXT_MAX = 32

_email_validator = EmailValidator()


class FieldError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str
    message: str
    value: str


DUPLICATE_MESSAGES = {
    "phone": "A customer with this phone number already exists.",
    "email": "A customer with this email address already exists.",
    "shipping_mark": "A customer with this shipping mark already exists.",
}


def duplicate_problems(
    values: Mapping[str, object], held: Sequence[tuple[str, object]]
) -> list[FieldProblem]:
    """One duplicate_existing problem for each (field, holder) that selectors.Clashes found:
    the API, the admin and the import word a value another customer holds alike."""
    return [
        FieldProblem(field, DUPLICATE_EXISTING, DUPLICATE_MESSAGES[field], str(values[field]))
        for field, _holder in held
    ]


def clean_text(value: object, *, max_length: int, required: bool = False) -> str:
    """NFKC (full-width and other compatibility forms become the plain characters: a full-width
    KWAME is KWAME), zero-width characters removed, whitespace collapsed and trimmed, invisible and
    control characters refused, length checked."""
    if value is None or value == "":
        if required:
            raise FieldError(REQUIRED, "This field is required.")
        return ""
    if type(value) is str and value.isascii() and value.isprintable():
        # Most cells: printable ASCII is already NFKC, holds nothing to translate or refuse, and
        # its only whitespace is the space. The same result as below, at a third of the cost.
        text = value
        if "  " in text or text[0] == " " or text[-1] == " ":
            text = " ".join(text.split())
    else:
        text = unicodedata.normalize("NFKC", cell_to_text(value)).translate(_TRANSLATE)
        # Tabs and line breaks (Alt+Enter in a cell) are whitespace and collapse with the rest.
        text = _WHITESPACE_RUN.sub(" ", text).strip()
        if _REFUSED.search(text):
            raise FieldError(INVALID_CHARACTERS, "Contains control or text-direction characters.")
        if not text.isascii() and (invisible := _INVISIBLE.search(text)):
            raise FieldError(
                INVALID_CHARACTERS,
                f"Contains an invisible or undefined character ({_code_point(invisible.group())}).",
            )
    if required and not text:
        raise FieldError(REQUIRED, "This field is required.")
    if len(text) > max_length:
        raise _too_long(max_length, len(text))
    return text


def _too_long(max_length: int, length: int) -> FieldError:
    return FieldError(TOO_LONG, f"At most {max_length:,} characters (this has {length:,}).")


def _code_point(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def _phone_text(value: object) -> str:
    text = clean_text(value, max_length=PHONE_TEXT_MAX)
    if "." not in text and "e" not in text and "E" not in text:
        return text  # neither of the shapes below
    compact = text.replace(" ", "")
    if _INTEGRAL_FLOAT_TEXT.match(compact):
        return compact.split(".", 1)[0]
    if _SCIENTIFIC.match(compact):
        # A long number that a spreadsheet printed as 2.41234567E+08.
        try:
            return str(int(Decimal(compact)))
        except (InvalidOperation, ValueError):
            return text
    return text


def normalize_phone(value: object, *, region: str | None = None) -> str:
    """Any way of writing a number -> E.164. `0241234567`, `241234567`, `+233 24 123 4567` and
    `233241234567` are all +233241234567 with the default region GH.

    The common shapes of the default region's numbers take a shortcut (27 us a number through
    phonenumbers, about 2 us here) that gives what phonenumbers gives; tests prove the two agree
    over generated numbers of every range."""
    text = _phone_text(value)
    if not text:
        raise FieldError(REQUIRED, "This field is required.")
    e164 = phones.known_shape_e164(text, region or settings.PHONE_DEFAULT_REGION)
    if e164 is not None:
        return e164
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise FieldError(
            INVALID_PHONE, "Not a valid phone number (for example 0241234567 or +233241234567)."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: object) -> str | None:
    """Lower-cased; blank becomes None (a customer need not have an email).

    An email finds an account (sign-in, an update import's match), so one that could pass for
    another is refused as a mark is: the local part and each label of the domain are held to
    _latin_look_alikes() (sa@ex\u0430mple.com, with a Cyrillic a, beside sa@example.com)."""
    text = clean_text(value, max_length=m.EMAIL_MAX).lower()
    if not text:
        return None
    if not email_valid(text):
        raise FieldError(INVALID_EMAIL, "Not a valid email address.")
    look_alikes = _email_look_alikes(text)
    if look_alikes:
        raise FieldError(
            INVALID_EMAIL,
            f"Holds letters of another script that look like Latin ones "
            f"({', '.join(map(_code_point, look_alikes))}), so it would look like another "
            "address. Type it in Latin letters.",
        )
    return text


def _email_look_alikes(address: str) -> list[str]:
    """_latin_look_alikes() of the local part and of each label of the domain: each is one
    name, where a mix of scripts is the disguise (a Cyrillic user name at a Latin domain is
    not)."""
    if address.isascii():
        return []
    user, domain = address.rsplit("@", 1)
    parts = [user, *domain.split(".")]
    return sorted({char for part in parts for char in _latin_look_alikes(part)})


# Django's EmailValidator's own pattern, compiled here once: through its lazy wrapper every match
# costs a few microseconds more.
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)


@functools.lru_cache(maxsize=4096)
def _email_domain_valid(domain: str) -> bool:
    return domain in _email_validator.domain_allowlist or _email_validator.validate_domain_part(
        domain
    )


def email_valid(text: str) -> bool:
    """What Django's EmailValidator decides, in its order (size, the part before the last @,
    the domain), with each domain's verdict kept: a file holds a few domains many times."""
    if not text or "@" not in text or len(text) > 320:
        return False
    user, domain = text.rsplit("@", 1)
    return bool(_EMAIL_USER.match(user)) and _email_domain_valid(domain)


def normalize_shipping_mark(value: object) -> str:
    """Upper-cased with runs of spaces collapsed; blank returns "" (the caller generates one).

    A mark is how a parcel finds its owner, so one that could pass for another is refused: see
    _latin_look_alikes()."""
    # Upper-casing can leave a compatibility form behind (U+01C5 becomes U+01C4): NFKC again.
    text = unicodedata.normalize("NFKC", clean_text(value, max_length=m.SHIPPING_MARK_MAX).upper())
    if not text:
        return ""
    if len(text) > m.SHIPPING_MARK_MAX:  # upper-casing lengthens some letters: ß is SS
        raise _too_long(m.SHIPPING_MARK_MAX, len(text))
    look_alikes = _latin_look_alikes(text)
    if look_alikes:
        raise FieldError(
            INVALID_SHIPPING_MARK,
            f"Holds letters of another script that look like Latin ones "
            f"({', '.join(map(_code_point, look_alikes))}), so it would look like another mark. "
            "Type it in Latin letters.",
        )
    if len(text) < m.SHIPPING_MARK_MIN:
        raise FieldError(
            INVALID_SHIPPING_MARK, f"A shipping mark has at least {m.SHIPPING_MARK_MIN} characters."
        )
    if not _SHIPPING_MARK_ALLOWED.match(text):
        raise FieldError(INVALID_SHIPPING_MARK, SHIPPING_MARK_FORM)
    return text


_NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED"})  # digits, spaces, punctuation, accents


def _latin_look_alikes(mark: str) -> list[str]:
    """The letters that make `mark` pass for a Latin mark it is not, or [].

    Marks here are Latin. A letter of another script that looks like a Latin one (Unicode's
    confusables, through confusable-homoglyphs) is refused when the mark mixes scripts (KWAME PM
    with a Cyrillic A), and when every letter of a mark without Latin letters looks Latin (PM 1
    KOCO written in Cyrillic letters). Other scripts stay welcome: "PM 王芳", "КОФИ"."""
    if mark.isascii():
        return []
    # Imported on first use: its tables take about 15 MB, and nearly every mark is ASCII.
    from confusable_homoglyphs import categories, confusables

    foreign = sorted({c for c in mark if categories.alias(c) not in {"LATIN", *_NEUTRAL_SCRIPTS}})
    if not foreign:
        return []
    found = confusables.is_confusable("".join(foreign), greedy=True, preferred_aliases=["LATIN"])
    look_alikes = sorted({entry["character"] for entry in found or ()})
    mixed = len(categories.unique_aliases(mark) - _NEUTRAL_SCRIPTS) > 1
    if look_alikes and (mixed or look_alikes == foreign):
        return look_alikes
    return []


def _region_key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


_REGION_BY_KEY = {_region_key(code): code for code in Region.values} | {
    _region_key(label): code for code, label in Region.choices
}


def normalize_region(value: object) -> str:
    """A region code or name in any case and spacing ("north east" -> NORTH_EAST);
    blank -> the DEFAULT_REGION setting."""
    text = clean_text(value, max_length=REGION_TEXT_MAX)
    if not text:
        return str(settings.DEFAULT_REGION)
    region = _region_of(text)
    if region is None:
        raise FieldError(INVALID_REGION, "Not a region of Ghana.")
    return region


@functools.lru_cache(maxsize=512)
def _region_of(text: str) -> str | None:
    key = _region_key(text).removesuffix("_REGION")
    return _REGION_BY_KEY.get(key)


_USER_TYPE_BY_KEY = {code: code for code in UserType.values} | {
    label.upper(): code for code, label in UserType.choices
}


def normalize_user_type(value: object) -> str:
    """INDIVIDUAL or BUSINESS, by code or label in any case; blank -> INDIVIDUAL."""
    text = clean_text(value, max_length=USER_TYPE_TEXT_MAX)
    if not text:
        return UserType.INDIVIDUAL.value
    user_type = _USER_TYPE_BY_KEY.get(text.upper())
    if user_type is None:
        raise FieldError(INVALID_USER_TYPE, "Either Individual or Business.")
    return user_type


def shipping_mark_base(first_name: str) -> str:
    """`PM {n} {FIRSTNAME6}`: the mark a customer gets when none is given."""
    letters = "".join(char for char in first_name.upper() if char.isalnum())[:6]
    return f"{settings.SHIPPING_MARK_PREFIX} {letters.ljust(2, 'X')}"


def shipping_mark_candidates(base: str, *, start: int = 1, count: int = 10) -> list[str]:
    """`base`, then `base02`, `base03`... : the n-th free one is used."""
    return [base if n == 1 else f"{base}{n:02d}" for n in range(start, start + count)]


# The customer fields in the order of the template and the legacy positional layout; each maps to
# its cleaner. `required` fields must be present in a create.
FIELD_RULES = {
    "shipping_mark": (normalize_shipping_mark, False),
    "first_name": (lambda v: clean_text(v, max_length=m.FIRST_NAME_MAX, required=True), True),
    "last_name": (lambda v: clean_text(v, max_length=m.LAST_NAME_MAX, required=True), True),
    "email": (normalize_email, False),
    "phone": (normalize_phone, True),
    "region": (normalize_region, False),
    "company_name": (lambda v: clean_text(v, max_length=m.COMPANY_NAME_MAX), False),
    "nickname": (lambda v: clean_text(v, max_length=m.NICKNAME_MAX), False),
    "user_type": (normalize_user_type, False),
}
CUSTOMER_FIELDS = tuple(FIELD_RULES)


def clean_customer(
    data: dict[str, object], *, partial: bool = False
) -> tuple[dict[str, object], list[FieldProblem]]:
    """Cleans every field present in `data` and collects every problem, not only the first.

    With partial=False, missing fields are treated as blank (so required ones are reported).
    """
    values: dict[str, object] = {}
    problems: list[FieldProblem] = []
    for field, (rule, _required) in FIELD_RULES.items():
        if partial and field not in data:
            continue
        raw = data.get(field)
        try:
            values[field] = rule(raw)
        except FieldError as error:
            problems.append(FieldProblem(field, error.code, error.message, cell_to_text(raw)))
    return values, problems
