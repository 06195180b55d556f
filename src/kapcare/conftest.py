"""Fixtures shared by every app's tests: users per role, API clients, and a real browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role

TEST_PASSWORD = "correct-horse-battery-staple"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str = Role.NURSE, email: str | None = None, **fields: Any) -> User:
        return User.objects.create_user(
            email or f"{role}-{User.objects.count()}@test.example",
            TEST_PASSWORD,
            full_name=fields.pop("full_name", f"Test {role}"),
            role=role,
            **fields,
        )

    return make


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    """One user per role."""
    return {role: make_user(role) for role in Role.values}


@pytest.fixture
def client_for(db: None) -> Callable[[User], Client]:
    """A test client signed in as the given user (session sign-in, as a browser would)."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def token_for(db: None) -> Callable[[User], str]:
    """A raw API token for the given user."""
    from kapcare.accounts.services import create_api_token
    from kapcare.audit.services import Actor

    def make(user: User) -> str:
        return create_api_token(Actor.system("test"), user, "test")[1]

    return make


def pass_second_factor(client: Client, user: User) -> None:
    """Mark a signed-in test client's session as past its second factor, as the verify page
    does, for a user who has one (the demo prescriber): force_login gives the password step
    only."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()


def chromium_path() -> str | None:
    configured = os.environ.get("KAPCARE_CHROMIUM")
    if configured:
        return configured if os.path.exists(configured) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright. Playwright never downloads a browser here."""
    executable = chromium_path()
    if executable is None:
        message = (
            "Chromium is not installed (apt-get install chromium): BROWSER TESTS NOT RUN. "
            "CI installs it; set KAPCARE_CHROMIUM to use another binary."
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests still use the ORM
    # from it to set up and check data, which is safe here because nothing else is async.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser page at tablet width (nurses use tablets)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


# --- treatment courses and dosing sessions --------------------------------------------------


@pytest.fixture
def cleared_patient(users: dict[str, User]) -> Any:
    """A synthetic adult (70 kg, 175 cm) whose eligible screening a prescriber accepted, with
    the treatment consents signed (``dosing.scenario.sign_treatment_consent``)."""
    from datetime import date
    from decimal import Decimal

    from kapcare.audit.services import Actor
    from kapcare.intake.demo import complete_intake_fields
    from kapcare.intake.services import review_screening, screen_patient
    from kapcare.patients.services import add_measurement, create_patient

    system = Actor.system("test")
    patient = create_patient(
        system, given_name="Casey", family_name="Cleared", birth_date=date(1984, 3, 9),
        sex_at_birth="male", is_synthetic=True,
    )  # fmt: skip
    add_measurement(system, patient, weight_kg=Decimal("70.0"), height_cm=Decimal("175"))
    nurse, prescriber = users["nurse"], users["prescriber"]
    screening = screen_patient(Actor.for_user(nurse), patient, complete_intake_fields())
    review_screening(Actor.for_user(prescriber), screening.pk, "accept", "")
    # Signed treatment consents (the current version, for racemic ketamine and esketamine):
    # no session passes its checklist without the one its route needs.
    from kapcare.dosing.scenario import sign_treatment_consent

    for route in ("iv", "esketamine"):
        sign_treatment_consent(nurse, patient, route)
    return patient


@pytest.fixture
def seeded_protocols(db: None) -> None:
    """The seeded protocols come from a data migration, and a transactional test's closing
    flush empties every table: put them back with the migration's own (idempotent) function
    for the transactional tests that run after it."""
    import importlib

    from django.apps import apps

    importlib.import_module("kapcare.courses.migrations.0002_seed_protocols").seed(apps, None)


@pytest.fixture
def plan_course_for(users: dict[str, User], seeded_protocols: None) -> Callable[..., Any]:
    """Plan a course from a seeded protocol (by code) for a cleared patient."""
    from kapcare.audit.services import Actor
    from kapcare.courses.models import Protocol
    from kapcare.courses.services import plan_course

    def plan(patient: Any, protocol_code: str = "iv-ptsd", start: Any = None) -> Any:
        from django.utils import timezone

        return plan_course(
            Actor.for_user(users["prescriber"]),
            patient,
            Protocol.objects.get(code=protocol_code),
            start or timezone.localdate(),
        )

    return plan


@pytest.fixture(autouse=True)
def audit_checkpoint_file(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each test anchors the audit chain in its own checkpoint file: a checkpoint the worker
    wrote in one test would otherwise describe another test's database."""
    path = tmp_path_factory.mktemp("checkpoints") / "audit_checkpoints.jsonl"
    settings.KAPCARE_AUDIT_CHECKPOINT_FILE = path
    return path
