"""The one JSON parser of the API: every request body (settings.REST_FRAMEWORK's
DEFAULT_PARSER_CLASSES) and every JSON held in a field (a multipart upload's `column_mapping`).

A body is bounded three ways: its bytes (primepre.body_limit, per endpoint, before it is read),
the number of values it holds, and its depth. Bytes alone do not bound what parsing builds: a
2.5 MB `[{},{},...]` is 866,000 dicts, about 120 MB while it is handled. So the values are
counted on the text before json.loads builds anything (see count_values), and a body over its
endpoint's cap is refused without being built.
"""

import codecs
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from primepre.body_limit import limits_of_view
from users.errors import PARSE_ERROR, TOO_MANY_VALUES

# No request here nests deeper than 3 (a legacy bulk body: object, list, object). Values nested
# far deeper reach code that recurses over them (serializers, str(), the renderer) and would
# exhaust the stack there instead.
MAX_DEPTH = 32

MSG_TOO_DEEP = f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels)."


class OverBounds(ParseError):
    """JSON refused for its shape (too deep, too many values), not for its syntax."""


class TooDeep(OverBounds):
    default_code = PARSE_ERROR


class TooManyValues(OverBounds):
    default_code = TOO_MANY_VALUES


# A JSON string, escapes included: what count_values_exactly skips.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_PUNCTUATION = (b",", b"[", b"{")
# Past this many times the cap, the quick count alone refuses: a body whose strings hold more
# commas and brackets than the values it may have is no request of ours, and the exact count
# costs a regex match per string: 0.6 s for 319,000 short strings (1.6 MB), where json.loads
# takes 0.04 s but builds them all.
_EXACT_COUNT_UP_TO = 2


def count_values(raw: bytes, start: int = 0, end: int | None = None) -> int:
    """At most how many values (strings, numbers, literals, lists, objects; a key and its value
    count once) the UTF-8 JSON `raw` holds, without parsing it: every value but the first
    follows a comma or opens a list or object, so commas + openings + 1 bounds them.

    bytes.count, C speed, builds nothing; a comma or bracket byte is never part of another
    character in UTF-8. Commas and brackets inside strings are counted too: see
    count_values_exactly."""
    return sum(raw.count(mark, start, end) for mark in _PUNCTUATION) + 1


def count_values_exactly(raw: bytes) -> int:
    """count_values without the commas and brackets inside strings (an address, a name); one
    match at a time, counted in place, so that nothing the size of the body is built."""
    inside = sum(
        count_values(raw, match.start(), match.end()) - 1 for match in _STRING.finditer(raw)
    )
    return count_values(raw) - inside


def _over(raw: bytes, max_values: int) -> bool:
    quick = count_values(raw)
    if quick <= max_values:
        return False
    return quick > _EXACT_COUNT_UP_TO * max_values or count_values_exactly(raw) > max_values


def loads(raw: bytes | str, *, max_values: int, max_depth: int = MAX_DEPTH) -> object:
    """json.loads bounded by what it would build: TooManyValues (400 `too_many_values`) over
    `max_values`, counted before anything is built; TooDeep (400 `parse_error`) nested deeper
    than `max_depth`; ParseError (400 `parse_error`) for what is not UTF-8 JSON."""
    if isinstance(raw, str):
        raw = raw.encode()
    if _over(raw, max_values):
        raise TooManyValues(f"The JSON holds more than {max_values:,} values.")
    try:
        data = parsers.json.loads(raw.decode(), parse_constant=parsers.json.strict_constant)
    except RecursionError:
        raise TooDeep(MSG_TOO_DEEP) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise ParseError(f"JSON parse error - {exc}") from None
    if _deeper_than(data, max_depth):
        raise TooDeep(MSG_TOO_DEEP)
    return data


class JSONParser(parsers.JSONParser):
    """DRF's parser through `loads`, with the values cap of the view's body limits
    (primepre.body_limit)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        raw = stream.read()
        encoding = parsers.get_encoding(parser_context)
        if codecs.lookup(encoding).name != "utf-8":
            try:
                raw = raw.decode(encoding).encode()
            except UnicodeError as exc:
                raise ParseError(f"JSON parse error - {exc}") from None
        return loads(raw, max_values=limits_of_view(parser_context.get("view")).values)


def _deeper_than(value: object, limit: int) -> bool:
    """Whether lists and objects in `value` nest deeper than `limit`; without recursion, so that
    any depth json.loads accepts is measured."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
