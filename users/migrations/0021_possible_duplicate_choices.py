"""A staged row keeps the admin's choice for a possible duplicate (create it anyway, update the
customer it resembles, or skip it); a row's history records those choices."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0020_staged_row_resemblance"),
    ]

    operations = [
        migrations.AddField(
            model_name="importstagedrow",
            name="choice",
            field=models.CharField(max_length=1, null=True),
        ),
        migrations.AlterField(
            model_name="importrowfix",
            name="action",
            field=models.CharField(
                choices=[
                    ("fix", "Fixed a field"),
                    ("skip", "Skipped the row"),
                    ("include", "Took the row back"),
                    ("create", "Chose to create it anyway"),
                    ("update", "Chose to update the customer it resembles"),
                ],
                max_length=10,
            ),
        ),
    ]
