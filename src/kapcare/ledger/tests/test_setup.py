"""The registrant's set-up: renewing a registration, which rooms and chairs a location stocks,
adding a product and entering the NDC on the clinic's package in place of a placeholder (each
refusal storing nothing and auditing nothing), and the set-up page that does it all for the
clinic admin, at a bounded number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kapcare.audit.models import Action, AuditEntry
from kapcare.courses.models import Resource
from kapcare.errors import Conflict, FieldInvalid, Forbidden, NotFound
from kapcare.ledger import selectors, services
from kapcare.ledger.models import Product, Registration, StorageLocation
from kapcare.ledger.tests.conftest import K50, VALID_DEA

pytestmark = pytest.mark.django_db

NEW_NDC = "12345-6789-01"
VIAL: dict[str, Any] = {
    "name": "Ketamine HCl 50 mg/mL, 10 mL vial",
    "ndc": NEW_NDC,
    "form": "vial",
    "route": "iv im",
    "mg_per_ml": Decimal("50"),
    "ml_per_container": Decimal("10"),
}


@contextmanager
def stores_nothing() -> Iterator[None]:
    """The block refuses (raises) and leaves no new row and no ledger audit entry."""
    counted = (Registration, StorageLocation, Product, StorageLocation.serves.through)

    def counts() -> list[int]:
        audited = AuditEntry.objects.filter(what__startswith="ledger").count()
        return [model.objects.count() for model in counted] + [audited]

    before = counts()
    yield
    assert counts() == before


def refused(error: type[Exception], call: Any, *args: Any, **kwargs: Any) -> Any:
    with stores_nothing(), pytest.raises(error) as raised:
        call(*args, **kwargs)
    return raised.value


def audited(what: str) -> AuditEntry:
    return AuditEntry.objects.filter(what__contains=what).latest("id")


@pytest.fixture
def chairs(db: None) -> list[Resource]:
    return [
        Resource.objects.create(name="Chair 1 (synthetic)", kind="chair"),
        Resource.objects.create(name="Chair 2 (synthetic)", kind="chair"),
    ]


# --- renewing a registration ------------------------------------------------------------------


def test_a_renewal_sets_the_new_expiry_and_is_audited(admin, registration):
    later = registration.expires_on + timedelta(days=3 * 365)
    services.renew_registration(admin, registration.pk, expires_on=later)
    registration.refresh_from_db()
    assert registration.expires_on == later
    entry = audited(f"registration {registration.pk} renewed")
    assert entry.action == Action.UPDATE


@pytest.mark.parametrize(
    ("days", "rule"), [(0, "not_later"), (-30, "not_later"), (-800, "in_past")]
)
def test_a_renewal_never_shortens_nor_lies_in_the_past(admin, registration, days, rule):
    expires_on = registration.expires_on + timedelta(days=days)
    error = refused(
        FieldInvalid, services.renew_registration, admin, registration.pk, expires_on=expires_on
    )
    assert (error.field, error.rule) == ("expires_on", rule)
    registration.refresh_from_db()
    assert registration.expires_on != expires_on or days == 0


def test_renewing_an_expired_registration_needs_a_date_from_today(admin, registration):
    registration.expires_on = date.today() - timedelta(days=10)
    registration.save()
    yesterday = date.today() - timedelta(days=1)
    error = refused(
        FieldInvalid, services.renew_registration, admin, registration.pk, expires_on=yesterday
    )
    assert (error.field, error.rule) == ("expires_on", "in_past")
    services.renew_registration(admin, registration.pk, expires_on=date.today() + timedelta(3))


def test_renewing_no_registration_or_as_a_nurse_is_refused(admin, nurse, registration):
    later = registration.expires_on + timedelta(days=365)
    assert refused(NotFound, services.renew_registration, admin, 0, expires_on=later).field == (
        "registration_id"
    )
    refused(Forbidden, services.renew_registration, nurse, registration.pk, expires_on=later)


# --- which rooms and chairs a location stocks --------------------------------------------------


def test_a_locations_rooms_and_chairs_are_set_and_audited(admin, safe, chairs):
    services.set_location_serves(admin, safe.pk, serves=[chairs[1].pk, chairs[0].pk])
    assert set(safe.serves.all()) == set(chairs)
    services.set_location_serves(admin, safe.pk, serves=[chairs[0].pk])
    assert list(safe.serves.all()) == [chairs[0]]
    assert audited(f"location {safe.pk} Main safe serves").action == Action.UPDATE
    services.set_location_serves(admin, safe.pk, serves=[])
    assert not safe.serves.exists()


def test_serving_what_does_not_exist_or_as_a_nurse_is_refused(admin, nurse, safe, chairs):
    services.set_location_serves(admin, safe.pk, serves=[chairs[0].pk])
    error = refused(
        FieldInvalid, services.set_location_serves, admin, safe.pk, serves=[chairs[1].pk, 9999]
    )
    assert (error.field, error.rule) == ("serves", "not_found")
    assert list(safe.serves.all()) == [chairs[0]]  # unchanged, not half-set
    assert refused(NotFound, services.set_location_serves, admin, 0, serves=[]).field == (
        "location_id"
    )
    refused(Forbidden, services.set_location_serves, nurse, safe.pk, serves=[])


def test_a_new_location_serving_what_does_not_exist_is_refused(admin, registration):
    error = refused(
        FieldInvalid,
        services.add_location,
        admin,
        registration,
        name="Cart",
        kind="cart",
        serves=(9999,),
    )
    assert (error.field, error.rule) == ("serves", "not_found")


# --- products -----------------------------------------------------------------------------------


def test_a_vial_and_a_device_are_added_and_audited(admin, db):
    vial = services.add_product(admin, **VIAL)
    assert (vial.schedule, vial.ndc_is_placeholder, vial.mg_per_container) == ("III", False, 500)
    assert audited(f"product {vial.pk} {NEW_NDC}").action == Action.CREATE
    device = services.add_product(
        admin, name="Esketamine 28 mg device", ndc="5012-3456-78", form="nasal_device",
        route="esketamine", mg_per_device=Decimal("28"),
    )  # fmt: skip
    assert (device.mg_per_container, device.ml_container) == (28, 0)


@pytest.mark.parametrize("ndc", ["1234-567-89", "12345678901", "12345-6789-1", "ABCDE-1234-56"])
def test_an_ndc_not_in_a_hyphenated_package_form_is_refused(admin, db, ndc):
    error = refused(FieldInvalid, services.add_product, admin, **{**VIAL, "ndc": ndc})
    assert (error.field, error.rule) == ("ndc", "format")


@pytest.mark.parametrize("ndc", ["12345-6789-01", "1234-5678-90", "12345-678-90"])
def test_the_three_package_forms_are_accepted(admin, db, ndc):
    assert services.add_product(admin, **{**VIAL, "ndc": ndc}).ndc == ndc


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"mg_per_ml": None}, "mg_per_ml", "required"),
        ({"ml_per_container": None}, "ml_per_container", "required"),
        ({"mg_per_device": Decimal("28")}, "mg_per_device", "not_for_form"),
        ({"form": "nasal_device"}, "mg_per_device", "required"),
        ({"mg_per_ml": Decimal("0")}, "mg_per_ml", "out_of_range"),
        ({"mg_per_ml": Decimal("50.005")}, "mg_per_ml", "out_of_range"),
        ({"form": "ampoule"}, "form", "choice"),
        ({"route": "iv"}, "route", "choice"),
        ({"schedule": "I"}, "schedule", "choice"),
        ({"name": " "}, "name", "required"),
        ({"ndc": "99999-0050-11"}, "ndc", "placeholder"),
    ],
)
def test_a_product_that_its_package_does_not_describe_is_refused(admin, db, changes, field, rule):
    error = refused(FieldInvalid, services.add_product, admin, **{**VIAL, **changes})
    assert (field, rule) in {(p.field, p.rule) for p in error.problems}


def test_a_device_given_a_vials_strengths_names_each(admin, db):
    error = refused(FieldInvalid, services.add_product, admin, **{**VIAL, "form": "nasal_device"})
    assert {(p.field, p.rule) for p in error.problems} == {
        ("mg_per_ml", "not_for_form"),
        ("ml_per_container", "not_for_form"),
        ("mg_per_device", "required"),
    }


def test_a_duplicate_ndc_or_a_nurse_adding_a_product_is_refused(admin, nurse, db):
    services.add_product(admin, **VIAL)
    error = refused(FieldInvalid, services.add_product, admin, **{**VIAL, "name": "Again"})
    assert (error.field, error.rule) == ("ndc", "duplicate")
    refused(Forbidden, services.add_product, nurse, **{**VIAL, "ndc": "12345-6789-02"})


# --- the NDC on the clinic's package --------------------------------------------------------


def test_entering_a_placeholders_ndc_clears_the_mark_and_is_audited(admin, seeded_products):
    placeholder = Product.objects.get(ndc=K50)
    assert placeholder.ndc_is_placeholder
    product = services.set_product_ndc(admin, placeholder.pk, ndc=f" {NEW_NDC} ")
    product.refresh_from_db()
    assert (product.ndc, product.ndc_is_placeholder) == (NEW_NDC, False)
    assert "placeholder" not in product.name
    assert audited(f"product {product.pk} NDC {K50} -> {NEW_NDC}").action == Action.UPDATE


def test_an_ndc_with_stock_received_stays(admin, receive):
    receive(containers=1)
    product = Product.objects.get(ndc=K50)
    error = refused(Conflict, services.set_product_ndc, admin, product.pk, ndc=NEW_NDC)
    assert (error.field, error.rule) == ("ndc", "has_stock")
    product.refresh_from_db()
    assert (product.ndc, product.ndc_is_placeholder) == (K50, True)


def test_entering_an_ndc_is_refused_when_bad_taken_missing_or_by_a_nurse(
    admin, nurse, seeded_products
):
    product = Product.objects.get(ndc=K50)
    taken = Product.objects.exclude(pk=product.pk).first()
    assert taken is not None
    services.set_product_ndc(admin, taken.pk, ndc="12345-6789-99")
    for ndc, rule in (("12345-6789-99", "duplicate"), ("123", "format"), ("", "required")):
        error = refused(FieldInvalid, services.set_product_ndc, admin, product.pk, ndc=ndc)
        assert (error.field, error.rule) == ("ndc", rule)
    assert refused(NotFound, services.set_product_ndc, admin, 0, ndc=NEW_NDC).field == (
        "product_id"
    )
    refused(Forbidden, services.set_product_ndc, nurse, product.pk, ndc=NEW_NDC)
    product.refresh_from_db()
    assert product.ndc_is_placeholder


# --- the set-up page ------------------------------------------------------------------------


@pytest.fixture
def admin_client(client_for, users):
    return client_for(users["clinic_admin"])


SETUP_ROUTES = [
    "/ledger/setup/registrations/new/",
    "/ledger/setup/registrations/renew/",
    "/ledger/setup/locations/new/",
    "/ledger/setup/locations/serves/",
    "/ledger/setup/products/new/",
    "/ledger/setup/products/ndc/",
]


@pytest.mark.parametrize("role", ["nurse", "prescriber", "therapist", "front_desk", "patient"])
def test_the_set_up_is_the_admins(client_for, users, role, safe):
    client = client_for(users[role])
    assert client.get("/ledger/setup/").status_code == 403
    for route in SETUP_ROUTES:
        assert client.post(route, {}).status_code == 403
    assert Registration.objects.count() == 1


def test_an_empty_ledger_home_sends_the_admin_to_the_set_up(admin_client, seeded_products):
    text = admin_client.get("/ledger/").content.decode()
    assert "No DEA registration recorded yet" in text
    assert 'href="/ledger/setup/"' in text


def test_a_registration_without_a_location_is_said_on_the_home(admin_client, registration):
    assert "No storage location yet" in admin_client.get("/ledger/").content.decode()


def test_the_admin_adds_a_registration_a_bad_check_digit_named_in_words(
    admin_client, seeded_products
):
    form = {
        "name": "Synthetic Ketamine Clinic", "address": "1 Example Street",
        "dea_number": "AB1234564", "expires_on": (date.today() + timedelta(400)).isoformat(),
    }  # fmt: skip
    bad = admin_client.post("/ledger/setup/registrations/new/", form)
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "DEA number: the check digit (the seventh digit) is wrong" in text
    assert not Registration.objects.exists()
    done = admin_client.post(
        "/ledger/setup/registrations/new/", {**form, "dea_number": VALID_DEA}, follow=True
    )
    assert Registration.objects.get().dea_number == VALID_DEA
    assert f"Registration {VALID_DEA}" in done.content.decode()


def test_the_admin_renews_a_registration_expiring_soon(admin_client, registration):
    registration.expires_on = date.today() + timedelta(days=20)
    registration.save()
    assert (
        "Expires soon: renew it with the DEA."
        in admin_client.get("/ledger/setup/").content.decode()
    )
    past = admin_client.post(
        "/ledger/setup/registrations/renew/",
        {"registration": registration.pk, "expires_on": date.today().isoformat()},
    )
    assert past.status_code == 400
    assert "New expiry date: must be after the current expiry" in past.content.decode()
    later = date.today() + timedelta(days=3 * 365)
    done = admin_client.post(
        "/ledger/setup/registrations/renew/",
        {"registration": registration.pk, "expires_on": later.isoformat()},
    )
    assert done.status_code == 302
    registration.refresh_from_db()
    assert registration.expires_on == later


def test_an_expired_registration_is_flagged(admin_client, registration):
    registration.expires_on = date.today() - timedelta(days=1)
    registration.save()
    assert (
        "Expired: the clinic may not handle" in admin_client.get("/ledger/setup/").content.decode()
    )


def test_renewing_a_registration_not_there_says_so(admin_client, registration):
    later = (registration.expires_on + timedelta(days=30)).isoformat()
    page = admin_client.post(
        "/ledger/setup/registrations/renew/", {"registration": 9999, "expires_on": later}
    )
    assert page.status_code == 404
    assert "No such registration." in page.content.decode()


def test_a_location_added_for_a_chair_stocks_its_sessions(
    admin_client, registration, safe, chairs, receive
):
    page = admin_client.get("/ledger/setup/").content.decode()
    assert 'type="checkbox" name="serves"' in page
    assert "Chair 1 (synthetic) (Treatment chair)" in page
    done = admin_client.post(
        "/ledger/setup/locations/new/",
        {"registration": registration.pk, "name": "Chair cart", "kind": "cart",
         "serves": [chairs[0].pk]},
    )  # fmt: skip
    assert done.status_code == 302
    cart = StorageLocation.objects.get(name="Chair cart")
    assert list(cart.serves.all()) == [chairs[0]]
    at_the_safe = receive(containers=1, lot="LOT-SAFE").container_set.get()
    at_the_cart = receive(containers=1, lot="LOT-CART", location_id=cart.pk).container_set.get()
    today = timezone.localdate()
    assert selectors.usable_containers("iv", today, chairs[0].pk) == [at_the_cart]
    assert at_the_safe in selectors.usable_containers("iv", today, chairs[1].pk)
    # A second chair, then none.
    admin_client.post(
        "/ledger/setup/locations/serves/",
        {"location": cart.pk, "serves": [chairs[0].pk, chairs[1].pk]},
    )
    assert set(cart.serves.all()) == set(chairs)
    admin_client.post("/ledger/setup/locations/serves/", {"location": cart.pk})
    assert not cart.serves.exists()


def test_a_duplicate_location_name_is_refused_in_words(admin_client, registration, safe):
    page = admin_client.post(
        "/ledger/setup/locations/new/",
        {"registration": registration.pk, "name": "Main safe", "kind": "safe"},
    )
    assert page.status_code == 400
    assert "a location of this name exists already" in page.content.decode()
    assert StorageLocation.objects.count() == 1


def test_the_admin_adds_a_product_a_missing_strength_named_in_words(admin_client, db):
    form = {"name": "Ketamine 10 mg/mL", "ndc": "12345-6789-01", "form": "vial",
            "mg_per_ml": "10", "route": "iv im"}  # fmt: skip
    bad = admin_client.post("/ledger/setup/products/new/", form)
    assert bad.status_code == 400
    assert "Volume of a vial (mL): is required for a vial" in bad.content.decode()
    assert not Product.objects.filter(ndc="12345-6789-01").exists()
    bad_ndc = admin_client.post(
        "/ledger/setup/products/new/", {**form, "ml_per_container": "20", "ndc": "1234567890"}
    )
    assert "NDC: must be written as on the package, with its hyphens" in bad_ndc.content.decode()
    done = admin_client.post("/ledger/setup/products/new/", {**form, "ml_per_container": "20"})
    assert done.status_code == 302
    assert Product.objects.get(ndc="12345-6789-01").mg_per_container == 200


def test_the_admin_enters_a_placeholders_ndc(admin_client, seeded_products):
    page = admin_client.get("/ledger/setup/").content.decode()
    assert page.count("placeholder NDC — enter the NDC on your package") == 3
    product = Product.objects.get(ndc=K50)
    done = admin_client.post("/ledger/setup/products/ndc/", {"product": product.pk, "ndc": NEW_NDC})
    assert done.status_code == 302
    product.refresh_from_db()
    assert (product.ndc, product.ndc_is_placeholder) == (NEW_NDC, False)
    page = admin_client.get("/ledger/setup/").content.decode()
    assert page.count("placeholder NDC — enter the NDC on your package") == 2


def test_a_stocked_placeholder_is_offered_no_ndc_form_and_a_post_is_refused(admin_client, receive):
    receive(containers=1)
    product = Product.objects.get(ndc=K50)
    page = admin_client.get("/ledger/setup/").content.decode()
    assert f'name="product" value="{product.pk}"' not in page
    assert "stock was received under it, so it stays" in page
    refused_page = admin_client.post(
        "/ledger/setup/products/ndc/", {"product": product.pk, "ndc": NEW_NDC}
    )
    assert refused_page.status_code == 409
    assert "its NDC stays" in refused_page.content.decode()


def test_the_set_up_page_costs_the_same_queries_however_many_records(
    admin, admin_client, registration, safe, chairs, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12) as few:
        assert admin_client.get("/ledger/setup/").status_code == 200
    second = services.create_registration(
        admin, name="Second site", address="2 Example Street", dea_number="BB1234563",
        expires_on=date.today() + timedelta(days=300),
    )  # fmt: skip
    for number in range(4):
        services.add_location(
            admin, second, name=f"Cart {number}", kind="cart", serves=(chairs[number % 2].pk,)
        )
        Resource.objects.create(name=f"Room {number} (synthetic)", kind="room")
        services.add_product(admin, **{**VIAL, "ndc": f"12345-6789-1{number}"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get("/ledger/setup/")
    assert page.content.decode().count("Save the rooms and chairs") == 5
