"""`kapcare ledger verify` finds an altered, a deleted and an inserted entry, and a stored
balance that disagrees with the entries; an untouched ledger verifies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from kapcare.audit import chain as audit_chain
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
    assert "intact: 5 entries verified" in said
    assert "balances agree" in said


def test_an_altered_entry_is_named(ledger, capsys):
    sql("UPDATE ledger_entry SET given_ml = %s WHERE id = %s", [Decimal("0.10"), ledger[3]])
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {ledger[3]}: its content does not match its hash" in said


def test_a_deleted_entry_is_named_by_the_one_after_it(ledger, capsys):
    sql("DELETE FROM ledger_entry WHERE id = %s", [ledger[2]])
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {ledger[3]}: its link to the previous entry is broken" in said


def test_an_entry_deleted_from_the_end_is_found(ledger, capsys):
    sql("DELETE FROM ledger_entry WHERE id = %s", [ledger[-1]])
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {ledger[-2]}" in said
    assert "entries after this one were removed" in said


def forge_after(entry_id: int, new_id: int, *, key_id: str) -> None:
    """A copy of an entry, linked to it and hashed by someone without the chain key (plain
    SHA-256 as the unkeyed chain did, or another key), stored under ``new_id``."""
    original = Entry.objects.get(pk=entry_id)
    fields = Entry._meta.concrete_fields
    forged = Entry(**{f.attname: getattr(original, f.attname) for f in fields})
    forged.pk, forged.reason, forged.key_id = new_id, "forged", key_id
    forged.previous_hash = original.entry_hash
    ring = audit_chain.Keyring.of(["not the clinic's key"])
    forged.entry_hash = audit_chain.entry_hash(
        ring, key_id if key_id == audit_chain.LEGACY_KEY_ID else ring.current_id,
        forged.previous_hash, chain._content(forged),
    )  # fmt: skip
    columns = ", ".join(str(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    values = [f.get_db_prep_save(getattr(forged, f.attname), connection) for f in fields]
    sql(f"INSERT INTO ledger_entry ({columns}) VALUES ({marks})", values)


def test_an_entry_inserted_in_the_middle_is_named(ledger, capsys):
    # Make room after the fourth entry (the last one moves up), then insert there.
    last = ledger[-1]
    sql("UPDATE ledger_entry SET id = %s WHERE id = %s", [last + 10, last])
    forge_after(ledger[-2], last, key_id=chain.chain.keyring().current_id)
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {last}: its content does not match its hash" in said


def test_an_unkeyed_entry_appended_at_the_end_is_named(ledger, capsys):
    forge_after(ledger[-1], ledger[-1] + 1, key_id=audit_chain.LEGACY_KEY_ID)
    code, said = run_verify(capsys)
    assert code == 1
    assert f"BROKEN at entry {ledger[-1] + 1}: it is an unkeyed entry" in said


def test_a_balance_edited_around_the_services_is_found(ledger, vial, capsys):
    sql("UPDATE ledger_container SET balance_ml = 10 WHERE id = %s", [vial.pk])
    code, said = run_verify(capsys)
    assert code == 1
    assert f"balances DISAGREE (1): container {vial.label} stores 10" in said


def test_the_worker_checkpoints_the_ledger_and_verify_holds_the_chain_to_it(ledger, capsys):
    from kapcare.audit.jobs import checkpoint_chains

    checkpoint_chains()
    anchor = chain.verify().anchored_by
    assert anchor is not None
    assert anchor.entries == 5
    # Cutting the last entry and rewriting the head to match is found by the checkpoint.
    last = Entry.objects.get(pk=ledger[-1])
    sql("DELETE FROM ledger_entry WHERE id = %s", [last.pk])
    sql(
        "UPDATE ledger_ledgerhead SET entries = 4, last_hash = %s WHERE id = 1",
        [last.previous_hash],
    )
    code, said = run_verify(capsys)
    assert code == 1
    assert "the checkpoint of" in said
