"""The administration's free-text vial id becomes a link to the ledger's container (issue 12).
The old text moves to ``legacy_vial_label`` so existing rows keep what they said; a row whose
text names a container's label (as the ledger prints it) is linked to it."""

import django.db.models.deletion
from django.db import migrations, models


def link_by_label(apps, schema_editor):
    Administration = apps.get_model("dosing", "Administration")
    Container = apps.get_model("ledger", "Container")
    labels = dict(Container.objects.values_list("label", "id"))
    for row in Administration.objects.exclude(legacy_vial_label="").filter(container=None):
        if row.legacy_vial_label in labels:
            row.container_id = labels[row.legacy_vial_label]
            row.save(update_fields=["container"])


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0003_intervention_label"),
        ("ledger", "0002_seed_products"),
    ]

    operations = [
        migrations.RenameField("administration", "vial_id", "legacy_vial_label"),
        migrations.RenameField("historicaladministration", "vial_id", "legacy_vial_label"),
        migrations.AlterField(
            model_name="administration",
            name="legacy_vial_label",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AlterField(
            model_name="historicaladministration",
            name="legacy_vial_label",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="administration",
            name="container",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="administrations",
                to="ledger.container",
            ),
        ),
        migrations.AddField(
            model_name="historicaladministration",
            name="container",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="ledger.container",
            ),
        ),
        migrations.AddField(
            model_name="deviceuse",
            name="container",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ledger.container",
            ),
        ),
        migrations.RunPython(link_by_label, migrations.RunPython.noop),
    ]
