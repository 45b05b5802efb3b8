"""Names, shipping marks and emails stored under the NFC rules, rewritten as the NFKC rules
(users.customers.rules) now store them: a full-width KWAME PM becomes KWAME PM, so that the same
text typed again finds its customer.

A mark or email whose new form another user already holds (NFC kept KWAME PM and its full-width
twin apart) keeps its stored form: two customers cannot hold one mark, and choosing which one gives
way is for staff. So does a value whose new form is longer than its column. Both are logged by
user id. Only values with a non-ASCII character can change.

The rules are copied here, as they were when this migration was written: a migration must do
the same thing whenever it runs, whatever the rules become."""

import logging
import re
import unicodedata

from django.db import migrations
from django.db.models.functions import Lower, Upper

logger = logging.getLogger(__name__)

_WHITESPACE_RUN = re.compile(r"\s+")
# field -> (its column's length, the key of its unique index: None when not unique)
FIELDS = {
    "first_name": (50, None),
    "last_name": (50, None),
    "nickname": (50, None),
    "company_name": (100, None),
    "shipping_mark": (100, Upper),
    "email": (254, Lower),
}


def _nfkc_text(value: str) -> str:
    return _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def nfkc_form(field: str, value: str) -> str:
    text = _nfkc_text(value)
    if field == "shipping_mark":
        return unicodedata.normalize("NFKC", text.upper())
    if field == "email":
        return text.lower()
    return text


def _taken(User, field: str, key, value: str, pk: int) -> bool:
    wanted = value.upper() if key is Upper else value.lower()
    return User.objects.exclude(pk=pk).alias(key_value=key(field)).filter(key_value=wanted).exists()


def normalise_stored_values(apps, schema_editor):
    User = apps.get_model("users", "User")
    changed, kept = 0, set()
    users = User.objects.only("pk", *FIELDS).order_by("pk")
    for user in users.iterator(chunk_size=2000):
        updates = {}
        for field, (max_length, key) in FIELDS.items():
            value = getattr(user, field)
            if not value or value.isascii():
                continue
            new = nfkc_form(field, value)
            if new == value:
                continue
            if len(new) > max_length or (key and _taken(User, field, key, new, user.pk)):
                kept.add(user.pk)
                continue
            updates[field] = new
        if updates:
            # One user at a time, so a later twin sees an earlier one's new value as taken.
            User.objects.filter(pk=user.pk).update(**updates)
            changed += 1
    logger.info("[MIGRATE-NFKC] users_changed=%s users_kept=%s", changed, len(kept))
    if kept:
        logger.warning("[MIGRATE-NFKC] values kept as stored user_ids=%s", sorted(kept))


class Migration(migrations.Migration):
    dependencies = [("users", "0006_row_error_position_and_list_index")]

    operations = [
        migrations.RunPython(normalise_stored_values, migrations.RunPython.noop, elidable=False)
    ]
