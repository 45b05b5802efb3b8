"""The one JSON parser of every endpoint (settings.REST_FRAMEWORK's DEFAULT_PARSER_CLASSES)."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request here nests deeper than 3 (a legacy bulk body: object, list, object). Values nested
# far deeper reach code that recurses over them (serializers, str(), the renderer) and would
# exhaust the stack there instead.
MAX_DEPTH = 32

MSG_TOO_DEEP = f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels)."


class JSONParser(parsers.JSONParser):
    """DRF's parser, plus the two ways a body parses into a 500 instead of a 400: nesting deep
    enough that json.loads itself gives up (RecursionError, not ValueError), and nesting that
    parses but is deeper than MAX_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(MSG_TOO_DEEP) from None
        if _deeper_than(data, MAX_DEPTH):
            raise ParseError(MSG_TOO_DEEP)
        return data


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
