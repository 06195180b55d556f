"""The products every clinic starts with: racemic ketamine 50 mg/mL and 100 mg/mL in 10 mL
vials, and esketamine 28 mg nasal spray devices (SPRAVATO).

The NDCs are SYNTHETIC PLACEHOLDERS (labeler code 99999, marked ``ndc_is_placeholder``): the
real NDC depends on the manufacturer and package a clinic buys; the clinic admin enters it from
the package before the first receipt."""

from decimal import Decimal

from django.db import migrations

SEEDED = [
    {
        "ndc": "99999-0050-10",
        "name": "Ketamine HCl 50 mg/mL, 10 mL vial (placeholder NDC)",
        "form": "vial",
        "mg_per_ml": Decimal("50"),
        "ml_per_container": Decimal("10"),
        "route": "iv im",
    },
    {
        "ndc": "99999-0100-10",
        "name": "Ketamine HCl 100 mg/mL, 10 mL vial (placeholder NDC)",
        "form": "vial",
        "mg_per_ml": Decimal("100"),
        "ml_per_container": Decimal("10"),
        "route": "iv im",
    },
    {
        "ndc": "99999-0028-01",
        "name": "Esketamine 28 mg nasal spray device (placeholder NDC)",
        "form": "nasal_device",
        "mg_per_device": Decimal("28"),
        "route": "esketamine",
    },
]


def seed(apps, schema_editor):
    Product = apps.get_model("ledger", "Product")
    for fields in SEEDED:
        Product.objects.get_or_create(
            ndc=fields["ndc"],
            defaults={**fields, "schedule": "III", "ndc_is_placeholder": True},
        )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_ledger")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
