"""A withdrawal from a location the user is not at is refused: the nurse is at the session's
room or chair, and the locations that serve it (``StorageLocation.serves``) are where they may
draw from. A room or chair no location serves may draw from any (a clinic with one safe)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kapcare.courses.models import Resource
from kapcare.errors import Conflict
from kapcare.ledger import selectors
from kapcare.ledger.models import Entry
from kapcare.ledger.tests.conftest import withdraw, witness_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def chair(dosing):
    """The session's treatment chair."""
    appointment = dosing.appointment
    appointment.resource = Resource.objects.create(name="Chair 1 (synthetic)", kind="chair")
    appointment.save(update_fields=["resource"])
    return appointment.resource


@pytest.fixture
def at_the_cart(cart, chair, receive):
    """The cart serves the session's chair, and holds a vial of its own."""
    cart.serves.set([chair])
    return receive(containers=1, lot="LOT-CART", location_id=cart.pk).container_set.get()


def test_a_withdrawal_from_a_location_not_serving_the_sessions_chair_is_refused(
    vial, at_the_cart, dosing, nurse, users
):
    before = Entry.objects.count()
    with pytest.raises(Conflict) as refused:
        withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    assert (refused.value.field, refused.value.rule) == ("container_id", "other_location")
    assert Entry.objects.count() == before
    vial.refresh_from_db()
    assert vial.balance_ml == 10
    entry = withdraw(nurse, at_the_cart, dosing, witness=witness_of(users["prescriber"]))
    assert entry.location_id == at_the_cart.location_id


def test_the_session_page_offers_only_the_stock_serving_its_chair(vial, at_the_cart, chair):
    today = timezone.localdate()
    assert selectors.usable_containers("iv", today, chair.pk) == [at_the_cart]
    # Without a chair (or for one nothing serves) every location's stock is offered.
    assert set(selectors.usable_containers("iv", today)) >= {vial, at_the_cart}


def test_a_chair_no_location_serves_draws_from_any(vial, cart, dosing, nurse, users):
    assert not cart.serves.exists()
    entry = withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    assert entry.container_id == vial.pk
