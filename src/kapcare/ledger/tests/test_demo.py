"""The demo clinic's ledger holds what an inspector asks for: a registration, stock received,
each documented session drawn from a real container, a resolved discrepancy, the initial
inventory (of nothing, before the first receipt) and a biennial one of today's stock; the
chain verifies and the balances agree."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from kapcare.demodata.clinic import load_demo_clinic
from kapcare.dosing.models import DosingSession, State
from kapcare.ledger import commands
from kapcare.ledger.models import Container, Discrepancy, Entry, Inventory, Kind, Receipt

pytestmark = pytest.mark.django_db


def test_the_demo_ledger_has_what_an_inspector_asks_for():
    load_demo_clinic()
    first_receipt = Receipt.objects.earliest("received_at")
    assert Receipt.objects.count() >= 2

    signed = DosingSession.objects.filter(state=State.NOTE_SIGNED)
    drawn_for = set(Entry.objects.filter(kind=Kind.WITHDRAWAL).values_list("session_id", flat=True))
    assert signed.exists() and set(signed.values_list("pk", flat=True)) <= drawn_for

    resolved = Discrepancy.objects.exclude(resolved_at=None).get()
    assert resolved.adjustment is not None and resolved.resolution

    initial = Inventory.objects.get(kind="initial")
    assert not initial.lines.exists(), "the clinic opened with nothing on hand"
    assert initial.taken_on <= timezone.localtime(first_receipt.received_at).date()
    biennial = Inventory.objects.get(kind="biennial")
    assert biennial.taken_on == timezone.localdate()
    on_hand = set(Container.objects.filter(balance_mg__gt=0).values_list("pk", flat=True))
    assert set(biennial.lines.values_list("container_id", flat=True)) == on_hand

    out = io.StringIO()
    assert commands.verify(out, io.StringIO()) == 0
    assert "balances agree" in out.getvalue()
