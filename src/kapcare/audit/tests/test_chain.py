"""The audit trail is append-only and chained under a key outside the database, and anchored by
signed checkpoints outside it: every tampering someone with only database access can do is
found, naming the first bad entry. Tampering goes through raw SQL, past the append-only
guards, as an attacker's would."""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from kapcare.audit import chain
from kapcare.audit.models import AppendOnlyError, AuditEntry, ChainHead
from kapcare.audit.selectors import verify_chain
from kapcare.audit.services import AUDIT_CHAIN, HASHED_FIELDS, Actor, record_access, record_event
from kapcare.cli import main as kapcare
from kapcare.errors import Forbidden
from kapcare.jobs.services import periodic_tasks, run_periodic

NURSE = Actor(user_id=None, email="nurse@test.example", role="nurse", client_address="10.0.0.5")

Hasher = Callable[[str, str, list[Any]], str]  # (key id, previous hash, content) -> hash


def _fill(entries: int = 6) -> list[AuditEntry]:
    record_access(NURSE, range(1, entries + 1), "patient list")
    return list(AuditEntry.objects.order_by("id"))


def _sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _content(pk: int) -> list[Any]:
    return list(AuditEntry.objects.filter(pk=pk).values_list(*HASHED_FIELDS).get())


def _set_head(entries: int, last_hash: str) -> None:
    _sql("UPDATE audit_chainhead SET entries = %s, last_hash = %s", [entries, last_hash])


def _rehash_from(first: AuditEntry, hasher: Hasher, key_id: str | None = None) -> None:
    """What an attacker without the key can do: recompute every hash from `first` on with
    `hasher`, relink, and make the head agree."""
    rows = list(AuditEntry.objects.filter(pk__lt=first.pk).order_by("id"))
    previous = rows[-1].entry_hash if rows else chain.GENESIS_HASH
    count = len(rows)
    for entry in AuditEntry.objects.filter(pk__gte=first.pk).order_by("id"):
        kid = key_id or entry.key_id
        forged = hasher(kid, previous, _content(entry.pk))
        _sql(
            "UPDATE audit_auditentry SET key_id = %s, previous_hash = %s, entry_hash = %s "
            "WHERE id = %s",
            [kid, previous, forged, entry.pk],
        )
        previous, count = forged, count + 1
    _set_head(count, previous)


def _plain_sha256(key_id: str, previous: str, content: list[Any]) -> str:
    return hashlib.sha256(chain.canonical([key_id, previous, *content])).hexdigest()


def _guessed_key(key_id: str, previous: str, content: list[Any]) -> str:
    return chain.entry_hash(chain.Keyring({key_id: b"a guess"}, key_id), key_id, previous, content)


def _downgraded(key_id: str, previous: str, content: list[Any]) -> str:
    return chain.entry_hash(chain.keyring(), chain.LEGACY_KEY_ID, previous, content)


def _checkpoint() -> chain.Checkpoint:
    return chain.write_checkpoint(AUDIT_CHAIN)


def _broken_at(entry: AuditEntry, words: str) -> None:
    report = verify_chain()
    assert not report.intact
    assert report.first_broken_id == entry.pk, report.describe()
    assert words in report.problem


# --- an intact chain ------------------------------------------------------------------------


@pytest.mark.django_db
def test_entries_are_sealed_with_the_current_key_and_verify() -> None:
    entries = _fill(5)
    assert [e.patient_id for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].previous_hash == chain.GENESIS_HASH
    assert {e.key_id for e in entries} == {chain.keyring().current_id}
    for before, after in itertools.pairwise(entries):
        assert after.previous_hash == before.entry_hash
    # The key is not what a bare SHA-256 of the content gives.
    assert entries[0].entry_hash != _plain_sha256(
        entries[0].key_id, chain.GENESIS_HASH, _content(entries[0].pk)
    )
    report = verify_chain()
    assert report.intact and report.entries_checked == 5


@pytest.mark.django_db
def test_verify_and_checkpoint_from_the_command_line(
    capsys: pytest.CaptureFixture[str], audit_checkpoint_file: Path
) -> None:
    _fill(3)
    record_event(NURSE, "sign_in", "signed in")
    assert kapcare(["audit", "verify"]) == 0
    assert "4 entries verified; no checkpoint yet" in capsys.readouterr().out
    assert kapcare(["audit", "checkpoint"]) == 0
    assert "checkpoint: 4 entries" in capsys.readouterr().out
    [line] = audit_checkpoint_file.read_text().splitlines()
    written = json.loads(line)
    assert written["entries"] == 4
    assert written["key_id"] == chain.keyring().current_id
    assert written["last_hash"] == AuditEntry.objects.values_list("entry_hash").latest("id")[0]
    assert audit_checkpoint_file.stat().st_mode & 0o777 == 0o600
    record_event(NURSE, "sign_out", "signed out")
    assert kapcare(["audit", "verify"]) == 0
    assert "5 entries verified; matches the checkpoint of" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_worker_checkpoints_the_chain(audit_checkpoint_file: Path) -> None:
    _fill(2)
    [task] = [task for task in periodic_tasks() if task.name == "audit checkpoint"]
    assert task.every_seconds == 3600 and not task.atomic
    run_periodic([task])
    [written] = chain.read_checkpoints("audit", chain.keyring())
    assert written.entries == 2


@pytest.mark.django_db
def test_the_application_offers_no_update_or_delete() -> None:
    entry = _fill(1)[0]
    entry.what = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(what="changed")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).what == "patient list"


# --- tampering ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_edited_entry_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    entries = _fill()
    _sql("UPDATE audit_auditentry SET what = %s WHERE id = %s", ["nothing", entries[2].pk])
    _broken_at(entries[2], "content does not match")
    assert kapcare(["audit", "verify"]) == 1
    assert f"BROKEN at entry {entries[2].pk}" in capsys.readouterr().err


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hasher", "key_id", "words"),
    [
        (_plain_sha256, None, "content does not match"),
        (_guessed_key, None, "content does not match"),
        (_downgraded, chain.LEGACY_KEY_ID, "unkeyed entry"),
    ],
    ids=["plain-sha256", "guessed-key", "downgraded-to-unkeyed"],
)
def test_an_edit_rehashed_to_the_end_without_the_key_is_named(
    hasher: Hasher, key_id: str | None, words: str
) -> None:
    entries = _fill()
    _sql("UPDATE audit_auditentry SET what = %s WHERE id = %s", ["forged", entries[2].pk])
    _rehash_from(entries[2], hasher, key_id)
    _broken_at(entries[2], words)


@pytest.mark.django_db
def test_a_whole_chain_rewritten_as_unkeyed_is_named_against_its_checkpoint() -> None:
    entries = _fill()
    _checkpoint()
    _sql("UPDATE audit_auditentry SET what = %s WHERE id = %s", ["forged", entries[0].pk])
    _rehash_from(entries[0], _downgraded, chain.LEGACY_KEY_ID)
    _broken_at(entries[0], "unkeyed entry")


@pytest.mark.django_db
def test_entries_cut_off_the_end_are_found_by_the_head() -> None:
    entries = _fill()
    _sql("DELETE FROM audit_auditentry WHERE id >= %s", [entries[-2].pk])
    _broken_at(entries[-3], "the head row recorded 6")


@pytest.mark.django_db
def test_entries_cut_off_the_end_with_the_head_rewritten_are_found_by_the_checkpoint() -> None:
    entries = _fill()
    _checkpoint()
    _sql("DELETE FROM audit_auditentry WHERE id >= %s", [entries[-2].pk])
    _set_head(4, entries[-3].entry_hash)
    _broken_at(entries[-3], f"recorded 6 (up to entry {entries[-1].pk}): entries")


@pytest.mark.django_db
def test_an_entry_deleted_in_the_middle_is_found_at_the_next() -> None:
    entries = _fill()
    _sql("DELETE FROM audit_auditentry WHERE id = %s", [entries[2].pk])
    _set_head(5, entries[-1].entry_hash)
    _broken_at(entries[3], "link to the previous entry is broken")


@pytest.mark.django_db
def test_a_rewritten_head_is_named() -> None:
    entries = _fill()
    _set_head(6, "f" * 64)
    _broken_at(entries[-1], "not entry 6 as the head row recorded it")
    # A head that claims fewer entries does not match the entry at its position either.
    _set_head(3, "e" * 64)
    _broken_at(entries[2], "not entry 3 as the head row recorded it")


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["at the end", "in between"])
def test_an_inserted_entry_is_named(where: str) -> None:
    entries = _fill()
    after = entries[-1] if where == "at the end" else entries[2]
    if where == "in between":  # make room, as an attacker rewriting ids would
        _sql("UPDATE audit_auditentry SET id = id + 100 WHERE id > %s", [after.pk])
    forged_id = after.pk + 1
    content = dict(zip(HASHED_FIELDS, _content(after.pk), strict=True))
    forged_hash = _plain_sha256(after.key_id, after.entry_hash, list(content.values()))
    _sql(
        "INSERT INTO audit_auditentry (id, occurred_at, action, user_id, user_email, role, "
        "patient_id, what, client_address, request_id, key_id, previous_hash, entry_hash) "
        "VALUES (%s, %s, 'read', NULL, %s, 'nurse', 99, 'slipped in', '', '', %s, %s, %s)",
        [
            forged_id,
            connection.ops.adapt_datetimefield_value(content["occurred_at"]),
            content["user_email"],
            after.key_id,
            after.entry_hash,
            forged_hash,
        ],
    )
    if where == "at the end":
        _set_head(7, forged_hash)
    _broken_at(AuditEntry.objects.get(pk=forged_id), "content does not match")


@pytest.mark.django_db
def test_a_tampered_checkpoint_file_is_reported(audit_checkpoint_file: Path) -> None:
    _fill()
    _checkpoint()
    line = json.loads(audit_checkpoint_file.read_text())
    audit_checkpoint_file.write_text(json.dumps({**line, "entries": 3}) + "\n")
    report = verify_chain()
    assert not report.intact and "line 1 has a wrong signature" in report.problem


@pytest.mark.django_db
def test_a_broken_chain_is_never_checkpointed(
    audit_checkpoint_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = _fill()
    _sql("UPDATE audit_auditentry SET what = %s WHERE id = %s", ["x", entries[1].pk])
    assert kapcare(["audit", "checkpoint"]) == 1
    assert f"not checkpointed: audit chain BROKEN at entry {entries[1].pk}" in (
        capsys.readouterr().err
    )
    assert not audit_checkpoint_file.exists()


# --- keys -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rotated_key_keeps_older_entries_verifiable(settings: Any) -> None:
    first = _fill(2)
    _checkpoint()
    settings.KAPCARE_AUDIT_KEYS = [*settings.KAPCARE_AUDIT_KEYS, "a-new-key-for-the-test"]
    record_event(NURSE, "sign_in", "after the rotation")
    newest = AuditEntry.objects.order_by("id").last()
    assert newest is not None and newest.key_id == chain.key_id_of("a-new-key-for-the-test")
    assert newest.key_id != first[0].key_id
    assert verify_chain().intact  # the checkpoint too is signed with the old key
    _checkpoint()
    anchor = verify_chain().anchored_by
    assert anchor is not None and anchor.key_id == newest.key_id
    # Without the old key, what it signed cannot be verified, and the report says which key.
    settings.KAPCARE_AUDIT_KEYS = ["a-new-key-for-the-test"]
    report = verify_chain()
    assert f"signed with key {first[0].key_id}, which is not in the keyring" in report.problem
    audit_checkpoint_file = chain.checkpoint_file()
    audit_checkpoint_file.unlink()
    _broken_at(first[0], f"sealed with key {first[0].key_id}, which is not in the keyring")


def test_rotating_appends_a_key_to_the_key_file(settings: Any, tmp_path: Path) -> None:
    key_file = tmp_path / "audit_keys"
    key_file.write_text("the-first-key\n")
    settings.KAPCARE_AUDIT_KEY_FILE = key_file
    new_id, where = chain.rotate_key()
    keys = key_file.read_text().split()
    assert where == key_file and keys[0] == "the-first-key" and len(keys) == 2
    assert new_id == chain.key_id_of(keys[1])


def test_keys_from_the_environment_are_not_rotated_by_kapcare(settings: Any) -> None:
    settings.KAPCARE_AUDIT_KEY_FILE = None
    with pytest.raises(chain.KeyRotationRefused, match="KAPCARE_AUDIT_RETIRED_KEYS"):
        chain.rotate_key()


# --- entries from before the chain was keyed ------------------------------------------------


def _old_sha256(entry: AuditEntry, previous: str) -> str:
    """The unkeyed chain's hash, as the code before keying computed it."""
    hashed = [previous, *_content(entry.pk)]
    hashed[1] = hashed[1].astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(json.dumps(hashed, separators=(",", ":")).encode()).hexdigest()


@pytest.mark.django_db
def test_unkeyed_entries_of_an_existing_installation_verify_and_are_anchored_on_upgrade() -> None:
    entries = _fill(3)
    previous = chain.GENESIS_HASH
    for entry in entries:  # as an installation from before the keyed chain holds them
        old = _old_sha256(entry, previous)
        _sql(
            "UPDATE audit_auditentry SET key_id = %s, previous_hash = %s, entry_hash = %s "
            "WHERE id = %s",
            [chain.LEGACY_KEY_ID, previous, old, entry.pk],
        )
        previous = old
    _set_head(3, previous)
    assert verify_chain().intact
    upgrade = importlib.import_module("kapcare.audit.migrations.0003_auditentry_key_id")
    upgrade.anchor_the_chain(django_apps, None)
    [start] = chain.read_checkpoints("audit", chain.keyring())
    assert (start.kind, start.entries, start.legacy_entries) == (chain.START, 3, 3)
    record_event(NURSE, "sign_in", "after the upgrade")
    report = verify_chain()
    assert report.intact and report.entries_checked == 4 and report.legacy_entries == 3
    # An entry made to look unkeyed after the upgrade is found.
    newest = AuditEntry.objects.order_by("id").last()
    assert newest is not None
    _rehash_from(newest, _downgraded, chain.LEGACY_KEY_ID)
    _broken_at(newest, "unkeyed entry")


@pytest.mark.django_db
def test_a_start_checkpoint_sets_aside_the_anchors_of_an_earlier_database() -> None:
    _fill(4)
    _checkpoint()
    _sql("DELETE FROM audit_auditentry")
    _sql("DELETE FROM audit_chainhead")
    record_access(NURSE, [1], "a new database")
    assert "recorded 4" in verify_chain().problem
    chain.write_checkpoint(AUDIT_CHAIN, kind=chain.START)
    assert verify_chain().intact
    assert ChainHead.objects.get().entries == 1


# --- concurrency and the actor --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_appenders_keep_one_linear_chain() -> None:
    errors: list[BaseException] = []

    def append_many(worker: int) -> None:
        try:
            for index in range(10):
                record_access(NURSE, [worker * 100 + index], f"worker {worker}")
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify_chain()
    assert report.intact and report.entries_checked == 40


def test_a_record_naming_its_author_needs_a_person() -> None:
    with pytest.raises(Forbidden) as refused:
        _ = Actor.system("kapcare command").person_id
    assert refused.value.rule == "signed_in"
    assert Actor(user_id=7, email="nurse@example.org", role="nurse").person_id == 7


@pytest.mark.django_db
def test_a_checkpoint_walks_only_what_came_after_the_last_one() -> None:
    _fill(3)
    _checkpoint()
    record_access(NURSE, [7, 8], "after the checkpoint")
    with CaptureQueriesContext(connection) as queries:
        second = _checkpoint()
    assert (second.entries, second.legacy_entries) == (5, 0)
    walked = [q["sql"] for q in queries.captured_queries if "audit_auditentry" in q["sql"]]
    assert any('"id" > ' in sql for sql in walked)  # from the anchored entry on, not from 1
    assert verify_chain().intact


@pytest.mark.django_db
def test_a_chain_cut_before_its_checkpoint_is_not_checkpointed_again() -> None:
    entries = _fill()
    _checkpoint()
    _sql("DELETE FROM audit_auditentry WHERE id >= %s", [entries[-2].pk])
    _set_head(4, entries[-3].entry_hash)
    with pytest.raises(chain.ChainBroken) as refused:
        _checkpoint()
    assert refused.value.report.first_broken_id == entries[-3].pk
    assert "entries after this one were removed" in refused.value.report.problem
