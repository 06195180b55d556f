"""The ledger's rules through its services: receipts, withdrawals and their refusals (each
leaving nothing stored), witnesses, adjustments, reversal, counts, the inventory, append-only
records and the balance check."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.test import override_settings

from kapcare.audit.services import Actor
from kapcare.dosing.models import State
from kapcare.errors import Conflict, FieldInvalid, Forbidden
from kapcare.ledger import selectors, services
from kapcare.ledger.models import (
    Balance,
    Container,
    Discrepancy,
    Entry,
    Inventory,
    Kind,
    LossReport,
    Receipt,
    Registration,
)
from kapcare.ledger.tests.conftest import ESK, K50, SUPPLIER, withdraw, witness_of
from kapcare.records import ImmutableError


def snapshot() -> dict[str, list]:
    """Every row of every ledger and audit table, to show a refusal stored nothing."""
    tables = [*apps.get_app_config("ledger").get_models(), apps.get_model("audit", "AuditEntry")]
    return {m.__name__: list(m._default_manager.order_by("pk").values()) for m in tables}


def refused(error, call, *args, **kwargs):
    before = snapshot()
    with pytest.raises(error) as raised:
        call(*args, **kwargs)
    assert snapshot() == before
    return raised.value


# --- registration and receipts -------------------------------------------------------------


def test_a_bad_dea_number_is_refused_naming_the_field(admin, seeded_products):
    error = refused(
        FieldInvalid,
        services.create_registration,
        admin,
        name="Clinic",
        address="1 Street",
        dea_number="AB1234564",
        expires_on=date(2030, 1, 1),
    )
    assert (error.field, error.rule) == ("dea_number", "check_digit")
    assert not Registration.objects.exists()


def test_a_receipt_makes_labelled_full_containers_with_balances(receive, safe):
    receipt = receive(containers=3)
    vials = list(receipt.container_set.order_by("id"))
    assert [v.label for v in vials] == [f"R{receipt.pk}-00{n}" for n in (1, 2, 3)]
    assert {(v.balance_ml, v.balance_mg, v.location_id) for v in vials} == {
        (Decimal(10), Decimal(500), safe.pk)
    }
    assert Entry.objects.filter(kind=Kind.RECEIPT, receipt=receipt).count() == 3
    product_balance = Balance.objects.get(key=f"product:{receipt.product_id}")
    assert (product_balance.balance_ml, product_balance.balance_mg) == (30, 1500)
    assert Balance.objects.get(key=f"lot:{receipt.product_id}:LOT-A").balance_mg == 1500
    assert Balance.objects.get(key=f"location:{receipt.product_id}:{safe.pk}").balance_mg == 1500
    assert selectors.check_balances() == []


def test_a_receipt_names_every_bad_field_and_stores_nothing(admin, safe):
    from django.utils import timezone

    error = refused(
        FieldInvalid,
        services.record_receipt,
        admin,
        product_ndc="00000-0000-00",
        supplier=services.Supplier("", "2 Depot Road", "XX1"),
        invoice="",
        lot="L",
        expires_on=date(2000, 1, 1),
        containers=0,
        received_at=timezone.now(),
    )
    assert {(p.field, p.rule) for p in error.problems} == {
        ("supplier.dea_number", "format"),
        ("supplier.name", "required"),
        ("invoice", "required"),
        ("containers", "out_of_range"),
        ("expires_on", "expired"),
        ("product_ndc", "not_found"),
    }


def test_only_the_clinic_admin_records_receipts(nurse, safe):
    from django.utils import timezone

    refused(
        Forbidden,
        services.record_receipt,
        nurse,
        product_ndc=K50,
        supplier=SUPPLIER,
        invoice="I",
        lot="L",
        expires_on=date.today() + timedelta(days=30),
        containers=1,
        received_at=timezone.now(),
    )


# --- withdrawals ---------------------------------------------------------------------------


def test_a_withdrawal_is_linked_to_the_session_and_moves_every_balance(vial, dosing, nurse, users):
    entry = withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    vial.refresh_from_db()
    assert (vial.balance_ml, vial.balance_mg) == (Decimal("9.00"), Decimal("450.00"))
    assert (entry.given_mg, entry.wasted_mg, entry.delta_mg) == (35, 15, -50)
    assert entry.session_id == dosing.pk
    assert entry.administration_id is None  # not recorded yet (the session page links it)
    assert entry.patient_id == dosing.patient_id
    assert entry.witness_id == users["prescriber"].pk
    assert (entry.balance_ml_after, entry.balance_mg_after) == (9, 450)
    assert Balance.objects.get(key=f"product:{vial.product_id}").balance_mg == 950
    assert selectors.check_balances() == []


@pytest.mark.parametrize(
    ("witness_role", "rule"),
    [(None, "witness_required"), ("therapist", "witness_not_licensed"),
     ("front_desk", "witness_not_licensed"), ("clinic_admin", "witness_not_licensed")],
)  # fmt: skip
def test_waste_needs_a_licensed_witness(vial, dosing, nurse, users, witness_role, rule):
    witness = witness_of(users[witness_role]) if witness_role else None
    error = refused(Conflict, withdraw, nurse, vial, dosing, witness=witness)
    assert (error.field, error.rule) == ("witness", rule)


def test_the_drawer_cannot_witness_their_own_waste(vial, dosing, nurse, users):
    error = refused(Conflict, withdraw, nurse, vial, dosing, witness=witness_of(users["nurse"]))
    assert error.rule == "witness_is_same_person"


def test_no_waste_needs_no_witness(vial, dosing, nurse):
    entry = withdraw(
        nurse, vial, dosing, drawn_ml=Decimal("0.70"), wasted_ml=Decimal(0), waste_manner=""
    )
    assert entry.witness_id is None


@override_settings(KAPCARE_LEDGER_WITNESS_REQUIRED=False)
def test_a_clinic_may_turn_the_witness_off(vial, dosing, nurse):
    assert withdraw(nurse, vial, dosing).witness_id is None


def test_waste_needs_its_manner(vial, dosing, nurse, users):
    error = refused(
        FieldInvalid, withdraw, nurse, vial, dosing, waste_manner="",
        witness=witness_of(users["prescriber"]),
    )  # fmt: skip
    assert (error.field, error.rule) == ("waste_manner", "required")


def test_drawn_must_be_given_plus_wasted(vial, dosing, nurse, users):
    error = refused(
        FieldInvalid, withdraw, nurse, vial, dosing, drawn_ml=Decimal("1.01"),
        witness=witness_of(users["prescriber"]),
    )  # fmt: skip
    assert (error.field, error.rule) == ("drawn_ml", "drawn_not_given_plus_wasted")


def test_never_below_zero(vial, dosing, nurse):
    error = refused(
        Conflict, withdraw, nurse, vial, dosing,
        drawn_ml=Decimal("10.01"), given_ml=Decimal("10.01"), wasted_ml=Decimal(0),
    )  # fmt: skip
    assert (error.field, error.rule) == ("container_id", "insufficient_balance")
    # All of it is fine.
    withdraw(nurse, vial, dosing, drawn_ml=Decimal(10), given_ml=Decimal(10), wasted_ml=Decimal(0))
    vial.refresh_from_db()
    assert vial.balance_ml == 0


def test_an_expired_container_is_refused(receive, dosing, nurse):
    receipt = receive(expires_on=date.today())
    container = receipt.container_set.first()
    from django.utils import timezone

    error = refused(
        Conflict,
        services.record_withdrawal,
        nurse,
        container_id=container.pk,
        session=dosing,
        drawn_ml=Decimal(1),
        given_ml=Decimal(1),
        wasted_ml=Decimal(0),
        now=timezone.now() + timedelta(days=1),
    )
    assert error.rule == "expired"


def test_a_set_aside_container_is_refused(vial, dosing, nurse, admin):
    services.record_adjustment(
        admin, container_id=vial.pk, kind=Kind.SET_ASIDE, reason="Cracked cap"
    )
    error = refused(
        Conflict, withdraw, nurse, vial, dosing, wasted_ml=Decimal(0), given_ml=Decimal(1)
    )
    assert error.rule == "quarantined"


def test_a_device_is_not_drawn_for_an_iv_session(receive, dosing, nurse):
    device = receive(ndc=ESK).container_set.first()
    error = refused(
        Conflict, services.record_withdrawal, nurse, container_id=device.pk, session=dosing,
        drawn_ml=None, given_ml=None, wasted_ml=None,
    )  # fmt: skip
    assert error.rule == "wrong_route"


def test_only_nurses_and_prescribers_draw(vial, dosing, admin, users):
    for role in ("clinic_admin", "therapist", "front_desk"):
        refused(
            Forbidden,
            withdraw,
            Actor.for_user(users[role]),
            vial,
            dosing,
            wasted_ml=Decimal(0),
            given_ml=Decimal(1),
        )


def test_a_cancelled_session_is_refused(vial, session, users, nurse):
    from kapcare.dosing import services as dosing_services

    cancelled = dosing_services.transition(nurse, session, State.CANCELLED, reason="Unwell")
    error = refused(
        Conflict, withdraw, nurse, vial, cancelled, wasted_ml=Decimal(0), given_ml=Decimal(1)
    )
    assert error.rule == "cancelled"


# --- append-only ----------------------------------------------------------------------------


def test_entries_and_receipts_are_never_changed_or_deleted(vial):
    entry = Entry.objects.earliest("id")
    entry.reason = "edited"
    with pytest.raises(ImmutableError):
        entry.save()
    with pytest.raises(ImmutableError):
        entry.delete()
    with pytest.raises(ImmutableError):
        Entry.objects.filter(pk=entry.pk).update(reason="edited")
    with pytest.raises(ImmutableError):
        Entry.objects.all().delete()
    with pytest.raises(ImmutableError):
        Receipt.objects.all().delete()
    with pytest.raises(ImmutableError):
        vial.delete()


# --- adjustments and reversal ----------------------------------------------------------------


def test_a_reversal_cites_the_entry_and_puts_the_balance_back(vial, dosing, nurse, admin, users):
    drawn = withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    reversal = services.record_adjustment(
        admin, container_id=vial.pk, kind=Kind.REVERSAL, reverses=drawn.pk,
        reason="Recorded against the wrong vial",
    )  # fmt: skip
    vial.refresh_from_db()
    assert vial.balance_ml == 10
    assert (reversal.reverses_id, reversal.delta_ml, reversal.given_mg) == (drawn.pk, 1, -35)
    assert reversal.patient_id == dosing.patient_id
    error = refused(
        Conflict, services.record_adjustment, admin, container_id=vial.pk,
        kind=Kind.REVERSAL, reverses=drawn.pk, reason="again",
    )  # fmt: skip
    assert error.rule == "already_reversed"
    assert selectors.check_balances() == []


def test_a_reversal_needs_a_reason_and_an_entry(vial, admin):
    error = refused(
        FieldInvalid, services.record_adjustment, admin, container_id=vial.pk,
        kind=Kind.REVERSAL, reason="  ",
    )  # fmt: skip
    assert error.field == "reason"
    error = refused(
        FieldInvalid, services.record_adjustment, admin, container_id=vial.pk,
        kind=Kind.REVERSAL, reason="why",
    )  # fmt: skip
    assert (error.field, error.rule) == ("reverses", "required")


def test_a_transfer_moves_the_location_balances(vial, admin, safe, cart):
    out = services.record_adjustment(
        admin, container_id=vial.pk, kind=services.TRANSFER, to_location_id=cart.pk,
        reason="Stock the cart",
    )  # fmt: skip
    vial.refresh_from_db()
    assert vial.location_id == cart.pk
    assert vial.balance_ml == 10
    product = vial.product_id
    assert Balance.objects.get(key=f"location:{product}:{cart.pk}").balance_mg == 500
    assert Balance.objects.get(key=f"location:{product}:{safe.pk}").balance_mg == 500  # 2nd vial
    assert Entry.objects.get(counterpart=out).kind == Kind.TRANSFER_IN
    error = refused(
        Conflict, services.record_adjustment, admin, container_id=vial.pk,
        kind=Kind.REVERSAL, reverses=out.pk, reason="undo",
    )  # fmt: skip
    assert error.rule == "not_reversible"
    assert selectors.check_balances() == []


def test_a_destruction_needs_its_manner_and_two_different_witnesses(vial, admin, users):
    nurse, prescriber = witness_of(users["nurse"]), witness_of(users["prescriber"])
    call = {"container_id": vial.pk, "kind": Kind.DESTRUCTION, "quantity_ml": Decimal(10),
            "reason": "Expired", "manner": "Reverse distributor", "witness": nurse}  # fmt: skip
    error = refused(Conflict, services.record_adjustment, admin, **call)
    assert (error.field, error.rule) == ("second_witness", "witness_required")
    error = refused(Conflict, services.record_adjustment, admin, **call, second_witness=nurse)
    assert error.rule == "witness_is_same_person"
    error = refused(
        FieldInvalid,
        services.record_adjustment,
        admin,
        **{**call, "manner": ""},
        second_witness=prescriber,
    )
    assert error.field == "manner"
    entry = services.record_adjustment(admin, **call, second_witness=prescriber)
    assert (entry.witness_id, entry.second_witness_id) == (
        users["nurse"].pk,
        users["prescriber"].pk,
    )
    assert (entry.manner, entry.delta_mg) == ("Reverse distributor", -500)


def test_a_breakage_is_witnessed_and_a_nurse_may_record_it(vial, nurse, users):
    call = {"container_id": vial.pk, "kind": Kind.BREAKAGE, "quantity_ml": Decimal(10),
            "reason": "Dropped the vial"}  # fmt: skip
    assert refused(Conflict, services.record_adjustment, nurse, **call).rule == "witness_required"
    entry = services.record_adjustment(nurse, **call, witness=witness_of(users["prescriber"]))
    assert entry.delta_ml == -10


def test_only_the_admin_records_losses_returns_and_destruction(vial, nurse):
    for kind in (Kind.LOSS, Kind.RETURN, Kind.DESTRUCTION, Kind.SET_ASIDE, Kind.REVERSAL):
        refused(
            Forbidden,
            services.record_adjustment,
            nurse,
            container_id=vial.pk,
            kind=kind,
            reason="x",
        )


def test_a_loss_keeps_its_form_106_details_until_filed(vial, admin):
    from django.utils import timezone

    error = refused(
        FieldInvalid, services.record_adjustment, admin, container_id=vial.pk, kind=Kind.LOSS,
        quantity_ml=Decimal(10), reason="Missing at count",
    )  # fmt: skip
    assert (error.field, error.rule) == ("loss", "required")
    details = services.LossDetails(
        discovered_at=timezone.now(), loss_type="other", description="Not in the safe at count",
        police_notified=True, police_report="PD-1",
    )  # fmt: skip
    entry = services.record_adjustment(
        admin, container_id=vial.pk, kind=Kind.LOSS, quantity_ml=Decimal(10),
        reason="Missing at count", loss=details,
    )  # fmt: skip
    assert [r.entry_id for r in selectors.unfiled_losses()] == [entry.pk]
    services.mark_loss_filed(admin, entry.loss_report.pk, dea_reference="DEA-106-1")
    assert selectors.unfiled_losses() == []
    error = refused(Conflict, services.mark_loss_filed, admin, entry.loss_report.pk)
    assert error.rule == "already_filed"
    assert LossReport.objects.get().dea_reference == "DEA-106-1"


# --- counts and the inventory -------------------------------------------------------------


def test_a_count_difference_opens_a_discrepancy_resolved_by_an_adjusting_entry(
    receive, admin, safe, users
):
    first, second = receive().container_set.order_by("id")
    second_counter = witness_of(users["nurse"])
    error = refused(
        FieldInvalid, services.record_count, admin, location_id=safe.pk,
        found={first.pk: Decimal(10)}, second_counter=second_counter,
    )  # fmt: skip
    assert error.field == f"found[{second.pk}]"
    assert refused(
        Conflict, services.record_count, admin, location_id=safe.pk,
        found={first.pk: Decimal(10), second.pk: Decimal(10)}, second_counter=None,
    ).rule == "witness_required"  # fmt: skip
    services.record_count(
        admin, location_id=safe.pk, found={first.pk: Decimal(10), second.pk: Decimal("9.5")},
        second_counter=second_counter,
    )  # fmt: skip
    (discrepancy,) = selectors.open_discrepancies()
    assert (discrepancy.line.container_id, discrepancy.difference_ml) == (
        second.pk,
        Decimal("-0.5"),
    )
    services.resolve_discrepancy(admin, discrepancy.pk, reason="Overfill used in priming")
    second.refresh_from_db()
    assert second.balance_ml == Decimal("9.5")
    assert selectors.open_discrepancies() == []
    assert Discrepancy.objects.get().adjustment.kind  # type: ignore[union-attr]  # resolved == Kind.COUNT_ADJUSTMENT
    assert selectors.check_balances() == []


def test_the_inventory_counts_sealed_exactly_and_may_estimate_opened(
    vial, dosing, nurse, admin, users, registration
):
    withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    sealed = Container.objects.exclude(pk=vial.pk).get()
    error = refused(
        FieldInvalid, services.take_inventory, admin, registration_id=registration.pk,
        kind="biennial", taken_on=date.today(), timing="close",
        estimates_ml={sealed.pk: Decimal(5)},
    )  # fmt: skip
    assert error.rule == "not_opened"
    inventory = services.take_inventory(
        admin, registration_id=registration.pk, kind="initial", taken_on=date.today(),
        timing="opening", estimates_ml={vial.pk: Decimal("8.5")},
    )  # fmt: skip
    lines = {line.container_id: line for line in inventory.lines.all()}
    for day in (date.today() - timedelta(days=1), date.today() + timedelta(days=1)):
        stored = Inventory.objects.count()
        error = refused(
            FieldInvalid, services.take_inventory, admin, registration_id=registration.pk,
            kind="biennial", taken_on=day, timing="close",
        )  # fmt: skip
        assert (error.field, error.rule) == ("taken_on", "not_today")
        assert Inventory.objects.count() == stored
    assert (lines[sealed.pk].sealed, lines[sealed.pk].quantity_ml, lines[sealed.pk].estimated) == (
        True, 10, False,
    )  # fmt: skip
    opened = lines[vial.pk]
    assert (opened.sealed, opened.quantity_ml, opened.quantity_mg, opened.estimated) == (
        False, Decimal("8.5"), Decimal(425), True,
    )  # fmt: skip


def test_the_balance_check_finds_a_stored_balance_that_disagrees(vial):
    # Only a write around the services could do this: the check is what catches it.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_container SET balance_ml = 3 WHERE id = %s", [vial.pk])
    (mismatch,) = selectors.check_balances()
    assert (mismatch.what, mismatch.stored_ml, mismatch.entries_ml) == (
        f"container {vial.label}", 3, 10,
    )  # fmt: skip
