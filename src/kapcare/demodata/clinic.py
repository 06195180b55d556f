"""The demo clinic: one staff user per role, a patient account, and synthetic patients.
Loading is idempotent: a second run finds the clinic and changes nothing."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.demodata.names import FAMILY_NAMES, GIVEN_NAMES
from kapcare.patients.models import Patient, SexAtBirth
from kapcare.patients.services import create_patient

DEMO_PASSWORD = "kapcare-demo"
DEMO_PATIENTS = 36
# The demo prescriber signs in with a second factor, so the flow can be tried (README): this
# published secret goes into any authenticator app (or `oathtool --totp -b SECRET`), and the
# recovery codes each work once. Demo only: never a real account's.
DEMO_MFA_EMAIL = "prescriber@example.org"
DEMO_TOTP_SECRET = "KAPCAREDEMOSECRETFORTRYINGTOTP22"
DEMO_RECOVERY_CODES = ("demo-recovery-1", "demo-recovery-2", "demo-recovery-3")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    full_name: str
    role: str


DEMO_STAFF = (
    DemoLogin("admin@example.org", "Alex Admin (demo)", Role.CLINIC_ADMIN),
    DemoLogin("prescriber@example.org", "Dr. Priya Prescriber (demo)", Role.PRESCRIBER),
    DemoLogin("nurse@example.org", "Nora Nurse (demo)", Role.NURSE),
    DemoLogin("therapist@example.org", "Theo Therapist (demo)", Role.THERAPIST),
    DemoLogin("frontdesk@example.org", "Frankie Frontdesk (demo)", Role.FRONT_DESK),
)
DEMO_PATIENT_LOGIN = DemoLogin("patient@example.org", "Pat Patient (demo)", Role.PATIENT)


def demo_clinic_present() -> bool:
    return User.objects.filter(email=DEMO_STAFF[0].email).exists()


def synthetic_birth_date(rng: random.Random) -> date:
    # Adults 19 to 75, the population the seed clinics treat.
    return date(2026, 1, 1) - timedelta(days=rng.randint(19 * 365, 75 * 365))


def enrol_demo_second_factor(user: User) -> None:
    """The demo's one enrolled account: its published TOTP secret and recovery codes."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kapcare.accounts.mfa import APP_DEVICE_NAME, RECOVERY_DEVICE_NAME

    key_hex = base64.b32decode(DEMO_TOTP_SECRET).hex()
    TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, key=key_hex, confirmed=True)
    codes = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    StaticToken.objects.bulk_create(StaticToken(device=codes, token=c) for c in DEMO_RECOVERY_CODES)


@transaction.atomic
def load_demo_clinic() -> bool:
    """Create the demo clinic unless it is there. Returns True when it was created."""
    if demo_clinic_present():
        return False
    actor = Actor.system("kapcare demo loader")
    for login in (*DEMO_STAFF, DEMO_PATIENT_LOGIN):
        User.objects.create_user(
            login.email,
            DEMO_PASSWORD,
            full_name=login.full_name,
            role=login.role,
            is_staff=login.role == Role.CLINIC_ADMIN,
            is_superuser=login.role == Role.CLINIC_ADMIN,
            is_synthetic=True,
        )
    enrol_demo_second_factor(User.objects.get(email=DEMO_MFA_EMAIL))
    rng = random.Random(20261121)  # fixed, so every demo clinic looks the same
    for index in range(DEMO_PATIENTS):
        given = GIVEN_NAMES[index % len(GIVEN_NAMES)]
        family = FAMILY_NAMES[(index * 7) % len(FAMILY_NAMES)]
        create_patient(
            actor,
            given_name=given,
            family_name=family,
            birth_date=synthetic_birth_date(rng),
            sex_at_birth=rng.choice([SexAtBirth.FEMALE, SexAtBirth.MALE]),
            email=f"{given}.{family}@example.org".lower(),
            phone=f"+1-555-01{index:02d}",
            is_synthetic=True,
        )
    # The demo patient account belongs to the first synthetic patient.
    first = Patient.objects.order_by("id").first()
    if first is not None:
        first.user = User.objects.get(email=DEMO_PATIENT_LOGIN.email)
        first.save(update_fields=["user"])
    # Record details, screenings in every state and the prescriber's reviews.
    from kapcare.intake.demo import load_demo as load_demo_intake

    load_demo_intake()
    # A few synthetic open consultation requests for the front desk's queue.
    from kapcare.consultations.demo import load_demo as load_demo_consultations

    load_demo_consultations()
    # Weekly PCL-5 and PHQ-9 trajectories, schedules, home links and one open alert.
    import kapcare.assessments.demo

    kapcare.assessments.demo.load_demo()
    # Chairs, planned courses with documented past sessions, today's sessions, integration.
    import kapcare.dosing.demo

    kapcare.dosing.demo.load_demo()
    # The controlled-substance ledger: the sessions above drew from real containers (stock
    # received as they needed it); an inventory and a resolved count.
    import kapcare.ledger.demo

    kapcare.ledger.demo.load_demo()
    return True
