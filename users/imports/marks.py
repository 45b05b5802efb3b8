"""Shipping marks the import chooses, for rows that give none."""

from users.customers import rules, selectors


class _MarkAllocator:
    """Generated marks: `PM 1 KWAME`, then `PM 1 KWAME02`..., skipping every mark stored in the
    database and every mark written anywhere in the file."""

    def __init__(self, reserved: set[str]):
        self.reserved = reserved
        self.next_number: dict[str, int] = {}
        self.free: dict[str, list[str]] = {}

    def prefetch(self, bases: dict[str, int]) -> None:
        """Looks up enough candidates for `bases` (base -> rows needing it) in batched queries."""
        wanted: dict[str, list[str]] = {}
        for base, needed in bases.items():
            start = self.next_number.get(base, 1)
            count = needed + 5
            wanted[base] = rules.shipping_mark_candidates(base, start=start, count=count)
            self.next_number[base] = start + count
        flat = [c for candidates in wanted.values() for c in candidates]
        taken = selectors.shipping_marks_taken(marks=flat) | self.reserved
        for base, candidates in wanted.items():
            self.free.setdefault(base, []).extend(c for c in candidates if c.upper() not in taken)

    def take(self, base: str) -> str:
        while not self.free.get(base):
            self.prefetch({base: 20})
        mark = self.free[base].pop(0)
        self.reserved.add(mark.upper())
        return mark


def marks_chosen(needing: list[tuple[int, str]], *, reserved: set[str]) -> dict[int, str]:
    """A generated mark for each (row index, mark base) of `needing`, in that order, none of
    them among `reserved` (the marks the file gives, upper-cased) nor stored: the candidates
    of every base are looked up in batched queries."""
    allocator = _MarkAllocator(reserved=reserved)
    bases: dict[str, int] = {}
    for _, base in needing:
        bases[base] = bases.get(base, 0) + 1
    allocator.prefetch(bases)
    return {index: allocator.take(base) for index, base in needing}
