"""The seeded IM protocol's source pointed at a briefing document that is not part of kapcare;
cite the project's own clinical reference instead. Only a row still carrying the seeded text
changes (a clinic that edited it keeps its own); courses keep the snapshot they were planned
with."""

import importlib

from django.db import migrations

# The seeded text, recognised by its start and end (its middle named the old document).
SEEDED_START = "IM 0.5-1.0 mg/kg (clinic protocol, "
SEEDED_END = "section 2); 60 min observation: clinic policy default"


def cite_the_project_reference(apps, schema_editor):
    seeds = importlib.import_module("kapcare.courses.migrations.0002_seed_protocols")
    Protocol = apps.get_model("courses", "Protocol")
    Protocol.objects.filter(
        code="im", source__startswith=SEEDED_START, source__endswith=SEEDED_END
    ).update(source=seeds.IM_SOURCE)


class Migration(migrations.Migration):
    dependencies = [("courses", "0002_seed_protocols")]
    operations = [migrations.RunPython(cite_the_project_reference, migrations.RunPython.noop)]
