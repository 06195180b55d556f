"""`kapcare ledger verify` finds an altered, a deleted and an inserted entry, and a stored
balance that disagrees with the entries; an untouched ledger verifies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from kapcare.cli import main
from kapcare.ledger import chain
from kapcare.ledger.models import Entry
from kapcare.ledger.tests.conftest import withdraw, witness_of


@pytest.fixture
def ledger(vial, dosing, nurse, users) -> list[int]:
    """Five entries: two receipts and three withdrawals."""
    for _ in range(3):
        withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    return list(Entry.objects.order_by("id").values_list("id", flat=True))


def sql(statement: str, params: list) -> None:
    # Around the model on purpose: what someone with database access could do.
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def run_verify(capsys) -> tuple[int, str]:
    code = main(["ledger", "verify"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_an_untouched_ledger_verifies(ledger, capsys):
    code, said = run_verify(capsys)
    assert code == 0
    assert "5 entries verified, balances agree" in said


def test_an_altered_entry_is_named(ledger, capsys):
    sql("UPDATE ledger_entry SET given_ml = %s WHERE id = %s", [Decimal("0.10"), ledger[3]])
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {ledger[3]}: its content does not match its hash" in said


def test_a_deleted_entry_is_named_by_the_one_after_it(ledger, capsys):
    sql("DELETE FROM ledger_entry WHERE id = %s", [ledger[2]])
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {ledger[3]}: its link does not match the entry before it" in said


def test_an_entry_deleted_from_the_end_is_found(ledger, capsys):
    sql("DELETE FROM ledger_entry WHERE id = %s", [ledger[-1]])
    code, said = run_verify(capsys)
    assert code == 1
    assert "head records 5 entries" in said


def forged_after(entry_id: int, new_id: int) -> None:
    """A copy of an entry, linked and hashed as the chain would (the unkeyed chain lets anyone
    do so: the keyed chain is what stops it), stored under ``new_id``."""
    original = Entry.objects.get(pk=entry_id)
    forged = Entry(**{f.attname: getattr(original, f.attname) for f in Entry._meta.concrete_fields})
    forged.pk, forged.reason = new_id, "forged"
    forged.previous_hash = original.entry_hash
    forged.entry_hash = chain.entry_digest(forged)
    columns = [str(f.column) for f in Entry._meta.concrete_fields]
    values = [
        f.get_db_prep_save(getattr(forged, f.attname), connection)
        for f in Entry._meta.concrete_fields
    ]
    marks = ", ".join(["%s"] * len(columns))
    sql(f"INSERT INTO ledger_entry ({', '.join(columns)}) VALUES ({marks})", values)


def test_an_entry_inserted_in_the_middle_is_named(ledger, capsys):
    # Make room after the third entry (the last one moves up), then insert there.
    last = ledger[-1]
    sql("UPDATE ledger_entry SET id = %s WHERE id = %s", [last + 10, last])
    forged_after(ledger[-2], last)
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {last}: it was inserted" in said


def test_an_entry_appended_past_the_head_is_named(ledger, capsys):
    forged_after(ledger[-1], ledger[-1] + 1)
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {ledger[-1] + 1}: it lies beyond the end the head records" in said


def test_a_balance_edited_around_the_services_is_found(ledger, vial, capsys):
    sql("UPDATE ledger_container SET balance_ml = 10 WHERE id = %s", [vial.pk])
    code, said = run_verify(capsys)
    assert code == 1
    assert f"balances DISAGREE (1): container {vial.label} stores 10" in said
