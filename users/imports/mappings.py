"""Column mappings remembered: when an import whose columns were chosen by hand (a
column_mapping sent with the upload, a remap, the admin page's selects) is confirmed, the choice
is kept for that file's headers, and the next upload with the same headers is read with it.

The same headers: the header texts of the header row, each compared as headers are
(users.excel.columns.header_key: any case, spacing or punctuation), in any order. The choices
name a column by its header text, so a file whose columns were moved around is read the same
way; a column without header text (or with only punctuation) has nothing to be known by, and a
choice of it is not remembered.

A column_mapping sent with the upload replaces the remembered choice for that upload (none of
it is used); a remap reads the file over the header matching again, as it always does. Either
way, confirming the import then remembers the new choice in place of the old one.
"""

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import status

from users import errors
from users.customers import roles
from users.customers import selectors as customer_selectors
from users.errors import ApplicationError, FileError
from users.excel.cells import cell_to_text
from users.excel.columns import TEMPLATE_HEADERS, column_index, first_row_is_data, header_key
from users.imports.parse import CREATE_ONLY, ImportOptions, map_rows
from users.models import ImportJob, RememberedMapping, User

logger = logging.getLogger(__name__)


def headers_key(headers: Iterable[object]) -> str | None:
    """The digest a header row is remembered by: its header texts normalised (header_key) and
    sorted, blank ones left out; None for a row with no header text at all."""
    keys = sorted(key for key in (header_key(text) for text in headers) if key)
    if not keys:
        return None
    # U+001F (unit separator) never survives header_key, so it cannot join two keys into one.
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()


@dataclass(frozen=True)
class Recalled:
    """A remembered mapping found for an upload: the choices to read it with, and the note the
    preview keeps of whose choice it was (ColumnMap.remembered, the job's column_mapping)."""

    choices: dict[str, str | None]
    note: dict


def _note(mapping: RememberedMapping, choices: dict[str, str | None]) -> dict:
    return {
        "id": mapping.pk,
        "choices": choices,
        "chosen_by": mapping.chosen_by_id,
        "chosen_at": mapping.chosen_at.isoformat(),
    }


def _usable(
    first: tuple[int, list], choices: dict[str, str | None], options: ImportOptions
) -> bool:
    """Whether the header row maps with these choices as the preview will map it: a choice
    made for an update (which needs only the match key's column) may leave out a column a
    create needs; the upload is then read as if nothing were remembered."""
    try:
        map_rows([first], options=options, chosen=choices)
    except FileError:
        return False
    return True


def _remembered_for(key: str) -> RememberedMapping | None:
    """The mapping remembered for these headers: get() on the unique key, without the model's
    ordering (first() would sort the one row it finds)."""
    try:
        return RememberedMapping.objects.get(headers_key=key)
    except RememberedMapping.DoesNotExist:
        return None


def mapping_recall(
    rows: Iterable[tuple[int, list]],
    *,
    chosen: dict | None,
    options: ImportOptions = CREATE_ONLY,
) -> tuple[Iterator[tuple[int, list]], Recalled | None]:
    """The rows (all of them still to read) and the remembered mapping for their header row,
    if there is one and no column_mapping was sent with the upload: one query, by the unique
    index on the headers' digest."""
    iterator = iter(rows)
    if chosen:
        return iterator, None
    first = next(iterator, None)
    if first is None:
        return iterator, None
    rows_again = chain([first], iterator)
    if first_row_is_data(first[1]):
        return rows_again, None
    key = headers_key(cell_to_text(cell).strip() for cell in first[1])
    mapping = _remembered_for(key) if key else None
    if mapping is None:
        return rows_again, None
    # Fields the product no longer has are dropped rather than refused as unknown.
    choices = {name: value for name, value in mapping.choices.items() if name in TEMPLATE_HEADERS}
    if not choices or not _usable(first, choices, options):
        logger.info("[IMPORT-MAPPING-SKIPPED] mapping=%s", mapping.pk)
        return rows_again, None
    return rows_again, Recalled(choices=choices, note=_note(mapping, choices))


def _hand_choices(job: ImportJob) -> dict[str, str | None]:
    """The job's columns chosen by hand, by header text (null: the field was left out);
    columns without header text are left out (see the module's docstring)."""
    mapping = job.column_mapping
    letters = mapping.get("letters") or {}
    headers = list(job.headers)
    choices: dict[str, str | None] = {}
    for name in mapping.get("chosen") or []:
        if name not in letters:
            choices[name] = None
            continue
        index = column_index(letters[name])
        header = headers[index] if index < len(headers) else ""
        if header_key(header):
            choices[name] = header
    return choices


def _count_use(note: dict) -> None:
    """A confirmed import read its columns from the remembered choice: counted, unless the
    choice was forgotten or made again since the preview."""
    chosen_at = parse_datetime(note["chosen_at"])
    if chosen_at is None:
        return
    RememberedMapping.objects.filter(pk=note["id"], chosen_at=chosen_at).update(
        times_used=F("times_used") + 1, last_used_at=timezone.now()
    )


def mapping_remember(*, job: ImportJob) -> RememberedMapping | None:
    """Called when `job` is confirmed: its columns chosen by hand are remembered for its
    headers (in place of any earlier choice, counted as used from nought), with its owner as
    the one who chose them; a job read with a remembered choice counts a use of it. Returns the
    mapping remembered now, or None."""
    mapping = job.column_mapping
    if mapping.get("layout") != "header" or not mapping.get("chosen"):
        return None
    if mapping.get("remembered"):
        _count_use(mapping["remembered"])
        return None
    choices = _hand_choices(job)
    key = headers_key(job.headers)
    if not choices or key is None:
        return None
    remembered, created = RememberedMapping.objects.update_or_create(
        headers_key=key,
        defaults={
            "headers": list(job.headers),
            "choices": choices,
            "chosen_by_id": job.owner_id,
            "chosen_at": timezone.now(),
            "times_used": 0,
            "last_used_at": None,
        },
    )
    logger.info(
        "[IMPORT-MAPPING-REMEMBERED] mapping=%s job=%s fields=%s new=%s",
        remembered.pk,
        job.pk,
        ",".join(sorted(choices)),
        created,
    )
    return remembered


def _chooser(chooser: User | None) -> dict | None:
    if chooser is None:
        return None
    return {"id": chooser.pk, "name": chooser.get_full_name() or chooser.phone}


def recalled_json(job: ImportJob, *, viewer: User) -> dict | None:
    """The preview's `remembered_mapping`: which remembered choice read the upload, whose it
    was (named only if `viewer` may see them: roles.visible) and when; None when none did."""
    note = job.column_mapping.get("remembered")
    if not note:
        return None
    chooser = None
    if note.get("chosen_by") is not None:
        chooser = User.objects.filter(roles.visible(viewer), pk=note["chosen_by"]).first()
    return {
        "id": note["id"],
        "chosen_by": _chooser(chooser),
        "chosen_at": parse_datetime(note["chosen_at"]),
        "choices": note["choices"],
    }


def recalled_message(job: ImportJob) -> str:
    """A sentence for the preview's message (which the SPA shows) when a remembered choice read
    the upload, or nothing."""
    note = job.column_mapping.get("remembered")
    chosen_at = parse_datetime(note["chosen_at"]) if note else None
    if chosen_at is None:
        return ""
    return (
        " The columns were read as an admin chose them for a file with these headers on "
        f"{chosen_at:%Y-%m-%d}."
    )


def recalled_fields(job: ImportJob) -> set[str]:
    """The fields whose column the remembered choice gave (columns[].match "remembered")."""
    note = job.column_mapping.get("remembered") or {}
    return {name for name, value in (note.get("choices") or {}).items() if value}


# --- listing and forgetting ---------------------------------------------------------------


def remembered_mapping_list(*, viewer: User) -> QuerySet[RememberedMapping]:
    """Every remembered mapping, newest choice first, with `shown_chosen_by`: the chooser's id
    when `viewer` may see them, else None."""
    return (
        RememberedMapping.objects.select_related("chosen_by")
        .annotate(
            shown_chosen_by=customer_selectors.shown_user(actor=viewer, column="chosen_by_id")
        )
        .order_by("-chosen_at", "-id")
    )


def shown_chooser(mapping: RememberedMapping) -> User | None:
    """Who chose a mapping read by remembered_mapping_list, when its viewer may see them."""
    # The annotation remembered_mapping_list adds, which the model's type does not declare.
    shown = getattr(mapping, "shown_chosen_by", None)
    return mapping.chosen_by if shown is not None else None


def remembered_mapping_json(mapping: RememberedMapping) -> dict:
    """One remembered mapping as the API shows it (read by remembered_mapping_list)."""
    return {
        "id": mapping.pk,
        "headers": mapping.headers,
        "choices": mapping.choices,
        "chosen_by": _chooser(shown_chooser(mapping)),
        "chosen_at": mapping.chosen_at,
        "times_used": mapping.times_used,
        "last_used_at": mapping.last_used_at,
    }


def remembered_mapping_forget(*, mapping_id: int, user: User) -> None:
    """Forgets a remembered mapping: the next upload with its headers is read by the header
    matching alone. 404 for an id that is not (or no longer) remembered."""
    deleted, _ = RememberedMapping.objects.filter(pk=mapping_id).delete()
    if not deleted:
        raise ApplicationError(
            errors.NOT_FOUND,
            "No such remembered mapping.",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    logger.info("[IMPORT-MAPPING-FORGOTTEN] mapping=%s by=%s", mapping_id, user.pk)
