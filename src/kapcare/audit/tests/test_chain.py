"""The access log is append-only and hash-chained; tampering is detected."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.db import connection, connections

from kapcare.audit.models import AppendOnlyError, AuditEntry
from kapcare.audit.selectors import verify_chain
from kapcare.audit.services import Actor, record_access, record_event
from kapcare.cli import main as kapcare
from kapcare.errors import Forbidden

NURSE = Actor(user_id=None, email="nurse@test.example", role="nurse", client_address="10.0.0.5")


def _fill(entries: int = 5) -> list[AuditEntry]:
    record_access(NURSE, range(1, entries + 1), "patient list")
    return list(AuditEntry.objects.order_by("id"))


@pytest.mark.django_db
def test_entries_are_chained_and_verify() -> None:
    entries = _fill()
    assert [e.patient_id for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].previous_hash == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after.previous_hash == before.entry_hash
    report = verify_chain()
    assert report.intact and report.entries_checked == 5


@pytest.mark.django_db
def test_an_altered_entry_is_found_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    entries = _fill()
    target = entries[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET what = %s WHERE id = %s", ["nothing to see", target.pk]
        )
    report = verify_chain()
    assert report.first_broken_id == target.pk
    assert "content" in report.problem
    assert kapcare(["audit", "verify"]) == 1
    assert f"entry {target.pk}" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_rehashed_entry_breaks_the_link_to_the_next() -> None:
    entries = _fill()
    forged = entries[1]
    forged.what = "forged"
    from kapcare.audit.services import entry_digest

    new_hash = entry_digest(forged)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET what = %s, entry_hash = %s WHERE id = %s",
            ["forged", new_hash, forged.pk],
        )
    assert verify_chain().first_broken_id == entries[2].pk


@pytest.mark.django_db
def test_entries_cut_off_the_end_are_detected() -> None:
    entries = _fill()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].pk])
    report = verify_chain()
    assert not report.intact
    assert report.first_broken_id == entries[-2].pk


@pytest.mark.django_db
def test_verify_succeeds_on_an_intact_chain(capsys: pytest.CaptureFixture[str]) -> None:
    _fill(3)
    record_event(NURSE, "sign_in", "signed in")
    assert kapcare(["audit", "verify"]) == 0
    assert "4 entries verified" in capsys.readouterr().out


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
