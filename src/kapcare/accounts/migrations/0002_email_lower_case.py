"""Emails are case-insensitive: store every existing one lower-cased, then keep them unique
ignoring case."""

from collections import defaultdict
from typing import Any

import django.db.models.functions.text
from django.db import migrations, models


def lower_case_emails(apps: Any, schema_editor: Any) -> None:
    user_model = apps.get_model("accounts", "User")
    # The users table is small (staff and patients with a portal sign-in): one pass is enough.
    by_lower_case: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, email in user_model.objects.values_list("pk", "email"):
        by_lower_case[email.lower()].append((pk, email))
    clashes = sorted(email for same in by_lower_case.values() if len(same) > 1 for _, email in same)
    if clashes:
        raise RuntimeError(
            "These users' emails differ only in case; merge or rename those accounts, then "
            f"migrate again: {', '.join(clashes)}"
        )
    for lower_case, [(pk, email)] in by_lower_case.items():
        if email != lower_case:
            user_model.objects.filter(pk=pk).update(email=lower_case)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(lower_case_emails, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                name="user_email_unique_ignoring_case",
                violation_error_message="A user with this email already exists.",
            ),
        ),
    ]
