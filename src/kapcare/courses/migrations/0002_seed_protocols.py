"""The seeded protocols every clinic starts with; the clinic admin edits or retires them."""

from decimal import Decimal

from django.db import migrations

IM_SOURCE = (
    "IM 0.5-1.0 mg/kg (clinic protocol; no published standard, docs/clinical-reference.md "
    "section 3.1); 60 min observation: clinic policy default"
)

SEEDED = [
    {
        "code": "iv-ptsd",
        "name": "IV ketamine for PTSD (0.5 mg/kg over 40 min, 6 in 2 weeks)",
        "route": "iv",
        "dose_mode": "mg_per_kg",
        "default_mg_per_kg": Decimal("0.5"),
        "min_mg_per_kg": Decimal("0.5"),
        "max_mg_per_kg": Decimal("1.0"),
        "infusion_duration_min": 40,
        "infusion_volume_ml": 100,
        "schedule_code": "iv_ptsd_6x2w",
        "min_observation_min": 30,
        "source": "Feder et al. 2021 (six 0.5 mg/kg infusions over 2 weeks); titration range "
        "0.5-1.0 mg/kg (ASKP guidance); 100 mL bag and 30 min observation: clinic policy defaults",
    },
    {
        "code": "iv-trd",
        "name": "IV ketamine for depression (0.5 mg/kg over 40 min, 6 in 2 weeks)",
        "route": "iv",
        "dose_mode": "mg_per_kg",
        "default_mg_per_kg": Decimal("0.5"),
        "min_mg_per_kg": Decimal("0.5"),
        "max_mg_per_kg": Decimal("1.0"),
        "infusion_duration_min": 40,
        "infusion_volume_ml": 100,
        "schedule_code": "iv_trd_6x2w",
        "min_observation_min": 30,
        "source": "Zarate 2006; Sanacora et al. 2017 (APA consensus, 0.5 mg/kg over 40 min); "
        "titration 0.5-1.0 mg/kg (ASKP guidance); bag volume and observation: clinic policy",
    },
    {
        "code": "im",
        "name": "IM ketamine (0.5 mg/kg, weekly)",
        "route": "im",
        "dose_mode": "mg_per_kg",
        "default_mg_per_kg": Decimal("0.5"),
        "min_mg_per_kg": Decimal("0.5"),
        "max_mg_per_kg": Decimal("1.0"),
        "schedule_code": "im_weekly",
        "min_observation_min": 60,
        "source": IM_SOURCE,
    },
    {
        "code": "intranasal",
        "name": "Intranasal racemic ketamine (compounded, 50 mg, weekly)",
        "route": "intranasal",
        "dose_mode": "fixed_mg",
        "default_dose_mg": Decimal("50"),
        "min_dose_mg": Decimal("10"),
        "max_dose_mg": Decimal("100"),
        "schedule_code": "intranasal_weekly",
        "min_observation_min": 60,
        "source": "Compounded by the clinic; doses 10-50 mg studied in PMC9118341; the default "
        "and range are clinic policy defaults",
    },
    {
        "code": "esketamine",
        "name": "Esketamine nasal spray (SPRAVATO, REMS)",
        "route": "esketamine",
        "dose_mode": "fixed_mg",
        "default_dose_mg": Decimal("56"),
        "min_dose_mg": Decimal("28"),
        "max_dose_mg": Decimal("84"),
        "schedule_code": "esketamine_trd",
        "min_observation_min": 120,
        "rems_required": True,
        "source": "SPRAVATO prescribing information and REMS: 56 mg day 1, then 56 or 84 mg; "
        "at least 2 hours' observation",
    },
]


def seed(apps, schema_editor):
    Protocol = apps.get_model("courses", "Protocol")
    for fields in SEEDED:
        Protocol.objects.get_or_create(code=fields["code"], defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("courses", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
