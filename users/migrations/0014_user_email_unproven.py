from django.db import migrations, models


def mark_emails_chosen_by_their_holders(apps, schema_editor):
    """An email is unproven when its holder chose it: the last change of it was their own
    (their profile), or, never changed since, they gave it at sign-up."""
    User = apps.get_model("users", "User")
    CustomerChange = apps.get_model("users", "CustomerChange")
    PasswordChange = apps.get_model("users", "PasswordChange")
    last_change_by: dict[int, int | None] = {}
    for customer_id, changed_by_id in (
        CustomerChange.objects.filter(fields__has_key="email")
        .order_by("id")
        .values_list("customer_id", "changed_by_id")
    ):
        last_change_by[customer_id] = changed_by_id
    signed_up = set(PasswordChange.objects.filter(kind="SIGNUP").values_list("user_id", flat=True))
    unproven = [
        user_id
        for user_id in User.objects.filter(email__isnull=False).values_list("id", flat=True)
        if (
            last_change_by[user_id] == user_id
            if user_id in last_change_by
            else user_id in signed_up
        )
    ]
    for start in range(0, len(unproven), 500):
        User.objects.filter(pk__in=unproven[start : start + 500]).update(email_unproven=True)


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0013_sign_in_links"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_unproven",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_emails_chosen_by_their_holders, migrations.RunPython.noop),
    ]
