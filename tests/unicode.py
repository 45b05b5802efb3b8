"""Text in forms that look like plain text and are not, written in tests by construction (a
source file full of them is as hard to review as the attack itself)."""

FULL_WIDTH_OFFSET = 0xFEE0  # U+0041 LATIN CAPITAL LETTER A -> U+FF21 FULLWIDTH LATIN CAPITAL A


def full_width(text: str) -> str:
    """`text` with every printable ASCII character but the space in its full-width form."""
    return "".join(chr(ord(c) + FULL_WIDTH_OFFSET) if "!" <= c <= "~" else c for c in text)
