"""Entries name the key that sealed them. Entries made before the chain was keyed were hashed
with plain SHA-256 and keep verifying as such (kapcare.audit.chain.LEGACY_KEY_ID); the upgrade
anchors them at once with a signed start checkpoint, so no entry can later be passed off as
unkeyed."""

import sys

from django.db import migrations, models

# The hashed content as it was when this migration was written.
HASHED_FIELDS = (
    "occurred_at",
    "action",
    "user_id",
    "user_email",
    "role",
    "patient_id",
    "what",
    "client_address",
    "request_id",
)


def anchor_the_chain(apps, schema_editor):
    from kapcare.audit import chain

    table = chain.ChainedTable(
        name="audit",
        model=apps.get_model("audit", "AuditEntry"),
        fields=HASHED_FIELDS,
        head_model=apps.get_model("audit", "ChainHead"),
    )
    try:
        chain.write_checkpoint(table, kind=chain.START)
    except chain.ChainBroken as broken:
        # The upgrade goes on: refusing it would not mend the chain. `kapcare audit verify`
        # goes on reporting it.
        print(f"\nThe audit chain was not anchored: {broken.report.describe()}", file=sys.stderr)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_refused_mfa_password_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(default="sha256-legacy", max_length=40),
            preserve_default=False,
        ),
        migrations.RunPython(anchor_the_chain, migrations.RunPython.noop),
    ]
