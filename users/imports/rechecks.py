"""The near-duplicate check again, after a change of a preview (users.imports.reclassify): the
rows to create that the change classified again are compared again with the customers and the
other rows to create, by the preview's rules (users.imports.resemblance), so that a fix can
make a possible duplicate or clear one. And the rows whose verdict the change can move without
classifying them: a later row to create sharing a blocking key with a row that became one to
create (or whose cells changed) may now resemble it; a possible duplicate that resembled a row
that is no longer one to create (or whose cells changed) may no longer resemble anyone.

A row the admin made a choice for (users.imports.choices) is not compared again: it keeps its
choice, and what it resembled, until its own cells are fixed. Only the few rows moved are read:
their keys by the database, the rows sharing them in one pass over the job's rows, their
candidate customers through the key indexes.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings

from users.imports import store
from users.imports.resemblance import TO_CREATE, near_duplicates_among, near_duplicates_with
from users.imports.resemblance_keys import BLOCK_LIMIT, Key, row_keys, rows_holding
from users.imports.stored_rows import CREATES, OUTCOMES, Outcome, at_positions, pages_of
from users.models import ImportJob, ImportStagedRow

# Rows named in one query.
CHUNK = 500
# The most rows leaving the rows to create whose later rows are found by their keys; past it,
# the possible duplicates that resembled one are found among all of them (_orphans).
FEW_LEAVING = 50


@dataclass
class Moved:
    """What a change did to the rows it looked at, as the re-check needs it: each row's outcome
    before and now, its number in the file, the rows whose own cells changed, and the rows
    holding a choice (never compared again)."""

    before: dict[int, Outcome]
    after: dict[int, Outcome]
    source_rows: dict[int, int]
    cells_changed: set[int]
    chosen: set[int]


@dataclass
class _Sharers:
    """The rows to create sharing a blocking key with a moved row: after a row that became one
    to create, with the newcomers each may now resemble; after a row that left, which may have
    resembled it; and the holders of the keys a move took past BLOCK_LIMIT or back to it
    (paired with none, or all, of the others now). And the holders of every key looked up."""

    newcomers: dict[int, set[int]]
    after_leaving: set[int]
    repaired: set[int]
    holders: dict[Key, list[int]]


def _sharers(
    job_id: UUID,
    entering: dict[int, set[Key]],
    leaving: dict[int, set[Key]],
    compared: dict[int, set[Key]],
) -> _Sharers:
    """The rows sharing a key with a row `entering` the rows to create or `leaving` them
    (position -> the keys it holds, or held), as _Sharers says, in one pass over the job's
    rows, which also reads the holders of the keys of the rows `compared` (near_duplicates_among
    then need not read them again)."""
    wanted = set[Key]().union(*entering.values(), *leaving.values(), *compared.values())
    found = _Sharers({}, set(), set(), {})
    if not wanted:
        return found
    found.holders = holders = rows_holding(job_id, wanted, TO_CREATE)
    for position, held in entering.items():
        for key in held:
            rows = holders.get(key, [])
            if len(rows) == BLOCK_LIMIT + 1:
                found.repaired.update(rows)
            elif len(rows) <= BLOCK_LIMIT:
                for other in rows:
                    if other > position:
                        found.newcomers.setdefault(other, set()).add(position)
    for position, held in leaving.items():
        for key in held:
            rows = holders.get(key, [])
            if len(rows) == BLOCK_LIMIT:
                found.repaired.update(rows)
            elif len(rows) < BLOCK_LIMIT:
                found.after_leaving.update(other for other in rows if other > position)
    return found


def _orphans(job: ImportJob, left: set[int]) -> set[int]:
    """The possible duplicates holding no choice that resemble an earlier row of these
    numbers in the file (rows that left the rows to create): one pass over the job's rows,
    which returns the possible duplicates alone (after a choice for thousands of rows, which
    no longer are rows to create)."""
    possible = ImportStagedRow.objects.filter(
        job=job,
        outcome=Outcome.POSSIBLE_DUPLICATE.value,
        choice__isnull=True,
        resembles_row__isnull=False,
    ).values_list("position", "resembles_row")
    return {position for position, row in possible if row in left}


def _others(
    job: ImportJob, positions: set[int], looked_at: set[int]
) -> list[tuple[int, str, int, int | None]]:
    """(position, outcome, number in the file, the row it resembles) of the rows to create
    holding no choice at these positions, but those `looked_at`."""
    found: list[tuple[int, str, int, int | None]] = []
    for page in pages_of(positions - looked_at, CHUNK):
        found += ImportStagedRow.objects.filter(
            at_positions(page), job=job, choice__isnull=True, outcome__in=TO_CREATE
        ).values_list("position", "outcome", "source_row", "resembles_row")
    return found


def resemblances_again(
    job: ImportJob, moved: Moved, *, old_keys: Mapping[int, set[Key]] | None = None
) -> dict[int, Outcome]:
    """Compares again the rows the change moved, as the module's docstring says, stores what
    it finds (a possible duplicate, or a plain row to create, and whom it resembles), and
    records in `moved` the outcome before and now of each row it compared. `old_keys` holds
    the blocking keys the rows whose cells changed held before. Returns the rows compared, by
    position, with their outcome now.

    A row classified again that stayed a row to create, its cells as they were, keeps what the
    preview found of it, unless a row it may resemble moved: a row that became one to create
    (or whose cells changed) is compared, and so is each later row sharing one of its keys;
    of the later rows sharing a key with a row that left the rows to create (or that held it
    before its cells changed), the possible duplicates of that row are compared again. They
    are found in one pass over the job's rows, when few rows left (a fix); when many did (a
    choice for every possible duplicate), the possible duplicates whose earlier row left are
    found among all of them instead. Where a move takes a key's holders past BLOCK_LIMIT, or
    back to it, every holder is compared again."""
    if not settings.IMPORT_NEAR_DUPLICATES or job.mode == ImportJob.Mode.UPDATE_ONLY:
        return {}
    after, before, changed = moved.after, moved.before, moved.cells_changed
    entering = {
        p
        for p, outcome in after.items()
        if outcome in CREATES and (before[p] not in CREATES or p in changed)
    }
    leaving = {
        p
        for p, outcome in after.items()
        if before[p] in CREATES and (outcome not in CREATES or p in changed)
    }
    orphans: set[int] = set()
    if len(leaving) > FEW_LEAVING:
        orphans = _orphans(job, {moved.source_rows[p] for p in leaving})
        leaving = set()
    compared = entering - moved.chosen
    keys = row_keys(job.pk, entering | (leaving - changed))
    left_keys = {p: set(keys.get(p, ())) for p in leaving - changed}
    left_keys |= {p: set(held) for p, held in (old_keys or {}).items() if p in leaving}
    sharers = _sharers(
        job.pk,
        {p: keys.get(p, set()) for p in entering},
        left_keys,
        {p: keys.get(p, set()) for p in compared},
    )
    left_rows = {moved.source_rows[p] for p in leaving}
    looked_at = set(after)
    others = _others(
        job, set(sharers.newcomers) | sharers.after_leaving | sharers.repaired | orphans, looked_at
    )
    newcomers: dict[int, set[int]] = {}
    for position, letter, source_row, resembled in others:
        if position in sharers.repaired | orphans or (
            position in sharers.after_leaving and resembled in left_rows
        ):
            compared.add(position)  # compared whole: what it resembled may be gone
        elif position in sharers.newcomers:
            newcomers[position] = sharers.newcomers[position]
        else:
            continue  # a later row of a leaving one, which was not its possible duplicate
        before[position] = OUTCOMES[letter]
        moved.source_rows[position] = source_row
    # Rows classified again that share a key with a moved row are compared whole.
    in_after = (set(sharers.newcomers) | sharers.after_leaving | sharers.repaired) & looked_at
    compared |= {p for p in in_after if after[p] in CREATES} - moved.chosen
    newcomers = {p: rows for p, rows in newcomers.items() if p not in compared}
    found = near_duplicates_among(job.pk, compared, holders=sharers.holders) if compared else {}
    if newcomers:
        found |= near_duplicates_with(job.pk, newcomers)
        compared |= set(newcomers)
    now = {
        p: Outcome.POSSIBLE_DUPLICATE if p in found else Outcome.CREATE for p in sorted(compared)
    }
    # A possible duplicate classified again as a row to create, and not compared, keeps what the
    # preview found of it; one that is no longer a row to create resembles nobody now.
    kept = {
        p
        for p, outcome in after.items()
        if p not in now
        and p not in moved.chosen
        and before[p] == Outcome.POSSIBLE_DUPLICATE
        and outcome == Outcome.CREATE
        and p not in changed
    }
    cleared = {
        p: outcome
        for p, outcome in after.items()
        if p not in now
        and p not in moved.chosen
        and before[p] == Outcome.POSSIBLE_DUPLICATE
        and outcome not in CREATES
    }
    store.resemblances_set(
        job.pk,
        [(p, outcome, found.get(p)) for p, outcome in now.items()]
        + [(p, outcome, None) for p, outcome in cleared.items()],
    )
    if kept:
        ImportStagedRow.objects.filter(job=job, position__in=sorted(kept)).update(
            outcome=Outcome.POSSIBLE_DUPLICATE.value
        )
    after.update(now)
    after.update(dict.fromkeys(kept, Outcome.POSSIBLE_DUPLICATE))
    return now
