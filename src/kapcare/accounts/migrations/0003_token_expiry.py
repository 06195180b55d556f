"""API tokens expire. A token created before this migration expires 90 days (the default
KAPCARE_TOKEN_DAYS) after it was created, as if the rule had always applied: a token older
than that stops working at once and its owner creates a new one (docs/security.md)."""

from datetime import timedelta
from typing import Any

from django.db import migrations, models
from django.db.models import F

EXISTING_TOKEN_DAYS = 90


def expire_existing_tokens(apps: Any, schema_editor: Any) -> None:
    token_model = apps.get_model("accounts", "ApiToken")
    token_model.objects.update(expires_at=F("created_at") + timedelta(days=EXISTING_TOKEN_DAYS))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_email_lower_case"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(expire_existing_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
