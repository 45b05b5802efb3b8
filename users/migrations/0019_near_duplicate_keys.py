"""The blocking keys of the near-duplicate check (users.imports.resemblance): the phone without
each of four blocks of its last nine digits, and the email's local part, each an expression
index that SQLite and Postgres both build."""

import django.db.models.expressions
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0018_import_row_fixes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.text.Right("phone", 6), name="user_phone_but_block1_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.text.Concat(
                    django.db.models.functions.text.Left(
                        "phone",
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.functions.text.Length("phone"), "-", models.Value(6)
                        ),
                    ),
                    django.db.models.functions.text.Right("phone", 4),
                ),
                name="user_phone_but_block2_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.text.Concat(
                    django.db.models.functions.text.Left(
                        "phone",
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.functions.text.Length("phone"), "-", models.Value(4)
                        ),
                    ),
                    django.db.models.functions.text.Right("phone", 2),
                ),
                name="user_phone_but_block3_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.text.Left(
                    "phone",
                    django.db.models.expressions.CombinedExpression(
                        django.db.models.functions.text.Length("phone"), "-", models.Value(2)
                    ),
                ),
                name="user_phone_but_block4_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.text.Left(
                    "email",
                    django.db.models.expressions.CombinedExpression(
                        django.db.models.functions.text.StrIndex("email", models.Value("@")),
                        "-",
                        models.Value(1),
                    ),
                ),
                name="user_email_local_part_idx",
            ),
        ),
    ]
