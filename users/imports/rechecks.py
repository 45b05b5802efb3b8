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
from users.imports.resemblance import TO_CREATE, near_duplicates_among
from users.imports.resemblance_keys import BLOCK_LIMIT, Key, row_keys, rows_holding
from users.imports.stored_rows import CREATES, OUTCOMES, Outcome
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


def _later_sharers(
    job_id: UUID, keys: dict[int, set[Key]]
) -> tuple[set[int], dict[Key, list[int]]]:
    """The rows to create after a row of `keys` (position -> the blocking keys it holds, or
    held) that hold one of its keys, where at most BLOCK_LIMIT rows to create hold it; and the
    holders of those keys (one pass over the job's rows)."""
    if not any(keys.values()):
        return set(), {}
    holders = rows_holding(job_id, set[Key]().union(*keys.values()), TO_CREATE)
    later = {
        other
        for position, held in keys.items()
        for key in held
        if len(holders.get(key, ())) <= BLOCK_LIMIT
        for other in holders.get(key, ())
        if other > position
    }
    return later, holders


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


def _others(job: ImportJob, positions: set[int], looked_at: set[int]) -> list[tuple[int, str, int]]:
    """(position, outcome, number in the file) of the rows to create holding no choice at these
    positions, but those `looked_at`."""
    wanted = sorted(positions - looked_at)
    found: list[tuple[int, str, int]] = []
    for start in range(0, len(wanted), CHUNK):
        found += ImportStagedRow.objects.filter(
            job=job,
            position__in=wanted[start : start + CHUNK],
            choice__isnull=True,
            outcome__in=TO_CREATE,
        ).values_list("position", "outcome", "source_row")
    return found


def resemblances_again(
    job: ImportJob, moved: Moved, *, old_keys: Mapping[int, set[Key]] | None = None
) -> dict[int, Outcome]:
    """Compares again the rows the change moved, as the module's docstring says, stores what
    it finds (a possible duplicate, or a plain row to create, and whom it resembles), and
    records in `moved` the outcome before and now of each row it compared. `old_keys` holds
    the blocking keys the rows whose cells changed held before. Returns the rows compared, by
    position, with their outcome now.

    A later row is found by the keys it shares with a row moved (one pass over the job's rows),
    when few rows left the rows to create (a fix); when many did (a choice for every possible
    duplicate), the possible duplicates whose earlier row left are found among all of them
    instead, and the keys of the rows that became ones to create alone are looked up."""
    if not settings.IMPORT_NEAR_DUPLICATES or job.mode == ImportJob.Mode.UPDATE_ONLY:
        return {}
    after = moved.after
    to_create = {p for p, outcome in after.items() if outcome in CREATES}
    entering = {p for p in to_create if moved.before[p] not in CREATES or p in moved.cells_changed}
    leaving = {
        p
        for p, outcome in after.items()
        if (moved.before[p] in CREATES and outcome not in CREATES) or p in moved.cells_changed
    }
    orphans: set[int] = set()
    if len(leaving) > FEW_LEAVING:
        orphans = _orphans(job, {moved.source_rows[p] for p in leaving})
        leaving = set()
    keys = row_keys(job.pk, entering | leaving)
    for position, held in (old_keys or {}).items():
        keys.setdefault(position, set()).update(held)
    later, holders = _later_sharers(job.pk, keys)
    compared = to_create - moved.chosen
    # Rows no longer to create (and holding no choice) say they resemble nobody.
    cleared = {
        p: outcome
        for p, outcome in after.items()
        if p not in moved.chosen and outcome not in CREATES
    }
    for position, letter, source_row in _others(job, later | orphans, set(after)):
        moved.before[position] = OUTCOMES[letter]
        moved.source_rows[position] = source_row
        compared.add(position)
    found = near_duplicates_among(job.pk, compared, holders=holders) if compared else {}
    now = {
        p: Outcome.POSSIBLE_DUPLICATE if p in found else Outcome.CREATE for p in sorted(compared)
    }
    store.resemblances_set(
        job.pk,
        [(p, outcome, found.get(p)) for p, outcome in now.items()]
        + [(p, outcome, None) for p, outcome in cleared.items()],
    )
    after.update(now)
    return now
