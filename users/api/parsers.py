"""The one JSON parser of the API: every request body (settings.REST_FRAMEWORK's
DEFAULT_PARSER_CLASSES) and every JSON held in a field (a multipart upload's `column_mapping`).

A body is bounded three ways: its bytes (primepre.body_limit, per endpoint, before it is read),
the number of values it holds, and its depth. Bytes alone do not bound what parsing builds: a
2.5 MB `[{},{},...]` is 866,000 dicts, about 120 MB while it is handled. So the values are
counted on the text before json.loads builds anything (see count_values), and a body over its
endpoint's cap is refused without being built.
"""

import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from primepre.body_limit import limits_of_view

# No request here nests deeper than 3 (a legacy bulk body: object, list, object). Values nested
# far deeper reach code that recurses over them (serializers, str(), the renderer) and would
# exhaust the stack there instead.
MAX_DEPTH = 32

MSG_TOO_DEEP = f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels)."

# A JSON string, escapes included: what count_values skips when the quick count is over.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


# Named here, not in users.api.errors, which imports DRF's views, which import this module.
PARSE_ERROR = "parse_error"
TOO_MANY_VALUES = "too_many_values"


class OverBounds(ParseError):
    """JSON refused for its shape (too deep, too many values), not for its syntax."""


class TooDeep(OverBounds):
    default_code = PARSE_ERROR


class TooManyValues(OverBounds):
    default_code = TOO_MANY_VALUES


def count_values(text: str) -> int:
    """At most how many values (strings, numbers, literals, lists, objects; a key and its value
    count once) `text` holds, without parsing it: every value but the first follows a comma or
    opens a list or object, so commas + openings + 1 bounds them.

    Counted with str.count (C speed, nothing built); only when that quick count is over a cap do
    commas and brackets inside strings matter, and count_values_exactly is asked."""
    return text.count(",") + text.count("[") + text.count("{") + 1


def count_values_exactly(text: str) -> int:
    """count_values after taking out the strings' contents, for text whose strings hold commas
    or brackets (an address, a name): the bound with only JSON's own punctuation counted."""
    return count_values(_STRING.sub('""', text))


def loads(text: str, *, max_values: int, max_depth: int = MAX_DEPTH) -> object:
    """json.loads bounded by what it would build: TooManyValues (400 `too_many_values`) over
    `max_values`, TooDeep (400 `parse_error`) nested deeper than `max_depth`, ParseError (400
    `parse_error`) for text that is not JSON."""
    if count_values(text) > max_values and count_values_exactly(text) > max_values:
        raise TooManyValues(f"The JSON holds more than {max_values:,} values.")
    try:
        data = parsers.json.loads(text, parse_constant=parsers.json.strict_constant)
    except RecursionError:
        raise TooDeep(MSG_TOO_DEEP) from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from None
    if _deeper_than(data, max_depth):
        raise TooDeep(MSG_TOO_DEEP)
    return data


class JSONParser(parsers.JSONParser):
    """DRF's parser through `loads`, with the values cap of the view's body limits
    (primepre.body_limit)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parsers.get_encoding(parser_context)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return loads(text, max_values=limits_of_view(parser_context.get("view")).values)


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
