"""The shortcut of users.customers.rules.normalize_phone: the default region's numbers written in
the shapes that fill real files, turned into E.164 from phonenumbers' own metadata (read once per
region) without its parse() and is_valid_number(), about ten times faster, with the same answer
(tests compare the two over generated numbers of every range). Anything else: None, and the
rules ask phonenumbers.
"""

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc

# The kinds of number phonenumbers.is_valid_number accepts: its _number_type_helper answers
# UNKNOWN (invalid) unless the general description and one of these match.
_NUMBER_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@dataclass(frozen=True)
class _RegionNumbers:
    """What phonenumbers does with the default region's numbers written in the shapes that fill
    real files (`0241234567`, `241234567`, `+233241234567`, `233241234567`, with or without
    spaces), read once from its metadata so those need neither parse() nor is_valid_number()."""

    country_code: str
    national_prefix: str
    international_prefix: re.Pattern[str]
    plus_code_unambiguous: bool
    general: re.Pattern[str]
    general_max_length: int
    possible_lengths: frozenset[int]
    # Length of a national number -> one pattern that matches it when is_valid_number would.
    valid_by_length: dict[int, re.Pattern[str]]

    def national_number(self, digits: str) -> str | None:
        """The national significant number phonenumbers.parse finds in these digits (no plus
        sign), or None for anything this does not follow exactly."""
        if self.international_prefix.match(digits):
            return None
        if digits.startswith(self.national_prefix):
            # parse() strips the prefix unless the number was viable with it and is not without,
            # and keeps the stripped number only at a possible length.
            national = digits[len(self.national_prefix) :]
            if len(national) not in self.possible_lengths or self.general.fullmatch(digits):
                return None
            return national
        if digits.startswith(self.country_code):
            # parse() takes the country code off a number too long to be national.
            if len(digits) <= self.general_max_length:
                return None
            return digits[len(self.country_code) :]
        return digits

    def e164(self, national: str) -> str | None:
        pattern = self.valid_by_length.get(len(national))
        # A national number starting with 0 would meet the national prefix again, or Italian zeros.
        if pattern is None or national[0] == "0" or not pattern.fullmatch(national):
            return None
        return f"+{self.country_code}{national}"


def _lengths_and_pattern(desc: PhoneNumberDesc | None) -> tuple[tuple[int, ...], str] | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return tuple(desc.possible_length or ()), desc.national_number_pattern


def _valid_by_length(metadata: PhoneMetadata) -> dict[int, re.Pattern[str]]:
    """phonenumbers' _is_number_matching_desc (the length is one of the description's, then the
    whole pattern matches) for the general description and for any kind, as one pattern per
    length of national number."""
    general = _lengths_and_pattern(metadata.general_desc)
    if general is None:  # _region_numbers copies no region without one
        return {}
    kinds = [
        k
        for k in map(_lengths_and_pattern, map(metadata.__getattribute__, _NUMBER_TYPE_DESCS))
        if k
    ]
    found: dict[int, re.Pattern[str]] = {}
    for length in range(2, 18):
        if general[0] and length not in general[0]:
            continue
        patterns = [pattern for lengths, pattern in kinds if not lengths or length in lengths]
        if patterns:
            kinds_pattern = "|".join(f"(?:{pattern})" for pattern in patterns)
            found[length] = re.compile(f"(?=(?:{general[1]})$)(?:{kinds_pattern})")
    return found


@functools.lru_cache(maxsize=8)
def _region_numbers(region: str) -> _RegionNumbers | None:
    """The shortcut for `region`, or None where its metadata does something this does not copy:
    a national prefix given as a pattern or transformed, a country code shared by several
    regions, or a shorter country code hidden at the start of its own."""
    region = region.upper()
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or not metadata.country_code:
        return None
    prefix = metadata.national_prefix or ""
    general = _lengths_and_pattern(metadata.general_desc)
    if (
        not prefix.isdigit()
        or metadata.national_prefix_for_parsing not in (None, prefix)
        or metadata.national_prefix_transform_rule
        or not metadata.international_prefix
        or phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code) != (region,)
        or general is None
        or not general[0]
    ):
        return None
    country_code = str(metadata.country_code)
    shorter_codes = (int(country_code[:n]) for n in range(1, len(country_code)))
    desc = metadata.general_desc  # not None: `general` was made from it
    local_only = (desc.possible_length_local_only if desc else None) or ()
    return _RegionNumbers(
        country_code=country_code,
        national_prefix=prefix,
        international_prefix=re.compile(metadata.international_prefix),
        plus_code_unambiguous=not any(
            code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for code in shorter_codes
        ),
        general=re.compile(general[1]),
        general_max_length=general[0][-1],
        possible_lengths=frozenset(general[0]) - frozenset(local_only),
        valid_by_length=_valid_by_length(metadata),
    )


def known_shape_e164(text: str, region: str) -> str | None:
    """The E.164 form of a valid number of the default region written in one of the common
    shapes, exactly as phonenumbers would give it; None means "ask phonenumbers" (any other
    shape, another country, and every number this finds invalid)."""
    numbers = _region_numbers(region)
    if numbers is None:
        return None
    compact = text.replace(" ", "") if " " in text else text
    if not compact.isascii():
        return None
    if compact.isdigit():
        national = numbers.national_number(compact)
    elif (
        compact[0] == "+"
        and numbers.plus_code_unambiguous
        and compact[1:].isdigit()
        and compact.startswith(numbers.country_code, 1)
    ):
        national = compact[1 + len(numbers.country_code) :]
    else:
        return None
    return numbers.e164(national) if national else None
