"""What the ledger puts in front of people outside its own pages: an open count discrepancy
and an unfiled theft or loss on the clinic admin's and the prescriber's "today" (until resolved
or filed), and the unfiled loss as a reminder on every page of the clinic admin's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from kapcare.ledger import services
from kapcare.ledger.models import Container, Kind
from kapcare.ledger.tests.conftest import witness_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def loss(admin, vial):
    entry = services.record_adjustment(
        admin, container_id=vial.pk, kind=Kind.LOSS, quantity_ml=Decimal(10), reason="Missing",
        loss=services.LossDetails(timezone.now(), "break_in", "Safe forced (synthetic)"),
    )  # fmt: skip
    return entry.loss_report


@pytest.fixture
def discrepancy(admin, receive, safe, users):
    short = receive(containers=1, lot="LOT-C").container_set.get()
    # What the book says of every container on hand, and half a millilitre less in one.
    found = {c.pk: c.balance_ml for c in Container.objects.filter(location=safe, balance_mg__gt=0)}
    found[short.pk] -= Decimal("0.5")
    count = services.record_count(
        admin, location_id=safe.pk, found=found, second_counter=witness_of(users["nurse"])
    )
    return count.lines.get(container=short).discrepancy


def _today(client) -> str:
    response = client.get("/today/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["clinic_admin", "prescriber"])
def test_an_open_discrepancy_and_an_unfiled_loss_wait_on_today(
    role, loss, discrepancy, client_for, users, admin
):
    page = _today(client_for(users[role]))
    assert f'id="unfiled-loss-{loss.pk}"' in page and "DEA Form 106 not filed" in page
    assert f'id="discrepancy-{discrepancy.pk}"' in page and "-0.50 mL" in page
    services.mark_loss_filed(admin, loss.pk, dea_reference="106-1")
    services.resolve_discrepancy(admin, discrepancy.pk, reason="Miscounted (synthetic)")
    page = _today(client_for(users[role]))
    assert f'id="unfiled-loss-{loss.pk}"' not in page
    assert f'id="discrepancy-{discrepancy.pk}"' not in page


@pytest.mark.parametrize("role", ["nurse", "therapist", "front_desk"])
def test_the_ledger_is_not_on_anyone_elses_today(role, loss, discrepancy, client_for, users):
    page = _today(client_for(users[role]))
    assert "unfiled-loss-" not in page and "discrepancy-" not in page
    assert "DEA Form 106" not in page


@pytest.mark.parametrize("path", ["/today/", "/ledger/", "/account/tokens/", "/resources/"])
def test_an_unfiled_loss_is_on_every_page_of_the_clinic_admins(path, loss, client_for, users):
    response = client_for(users["clinic_admin"]).get(path)
    assert response.status_code == 200
    assert response.content.decode().count("DEA Form 106 not filed:") == 1


def test_the_reminder_is_one_query_and_only_the_clinic_admins(
    loss, client_for, users, django_assert_max_num_queries
):
    admin_client = client_for(users["clinic_admin"])
    admin_client.get("/today/")  # the session's first use
    with django_assert_max_num_queries(14):
        page = admin_client.get("/today/").content.decode()
    assert "DEA Form 106 not filed:" in page
    page = client_for(users["prescriber"]).get("/resources/").content.decode()
    assert "DEA Form 106 not filed:" not in page
