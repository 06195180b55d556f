from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail import send_mail
from django.utils import timezone

from kapcare.jobs.models import Job, JobStatus
from kapcare.jobs.services import claim, enqueue, handler, run_job, run_pending, work

pytestmark = pytest.mark.django_db

CALLS: list[dict[str, Any]] = []


@handler("test.email")
def _email(payload: dict[str, Any]) -> None:
    send_mail("Hello", payload["body"], None, [payload["to"]])


@handler("test.boom")
def _boom(payload: dict[str, Any]) -> None:
    CALLS.append(payload)
    raise RuntimeError("the mail server is down")


def test_enqueue_then_run_once_sends_the_email() -> None:
    job = enqueue("test.email", {"to": "a@example.org", "body": "hi"})
    assert work(once=True) == 1
    assert [m.to for m in mail.outbox] == [["a@example.org"]]
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 1 and job.finished_at


def test_jobs_wait_for_run_after() -> None:
    enqueue(
        "test.email",
        {"to": "a@example.org", "body": "later"},
        run_after=timezone.now() + timedelta(hours=1),
    )
    assert run_pending() == 0 and mail.outbox == []


def test_a_job_claimed_by_a_dead_worker_is_reclaimed_after_its_lease() -> None:
    enqueue("test.email", {"to": "a@example.org", "body": "hi"})
    job = claim("worker-that-dies")
    assert job is not None and job.status == JobStatus.RUNNING
    # While the lease lasts, nobody else takes it.
    assert claim("other") is None
    Job.objects.filter(pk=job.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    again = claim("other")
    assert again is not None and again.pk == job.pk and again.attempts == 2
    assert run_job(again, "other")
    assert Job.objects.get(pk=job.pk).status == JobStatus.DONE
    assert len(mail.outbox) == 1


def test_the_dead_worker_cannot_overwrite_the_new_owner() -> None:
    enqueue("test.email", {"to": "a@example.org", "body": "hi"})
    first = claim("first")
    assert first is not None
    Job.objects.filter(pk=first.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    second = claim("second")
    assert second is not None
    run_job(first, "first")  # the slow first worker finishes late: its outcome is ignored
    assert Job.objects.get(pk=second.pk).status == JobStatus.RUNNING
    run_job(second, "second")
    assert Job.objects.get(pk=second.pk).status == JobStatus.DONE


def test_a_failing_job_retries_with_backoff_then_fails_keeping_its_error() -> None:
    CALLS.clear()
    job = enqueue("test.boom", {"n": 1}, max_attempts=3)
    assert run_pending() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.attempts == 1
    assert job.run_after > timezone.now() + timedelta(seconds=20)
    assert "the mail server is down" in job.last_error
    for _ in range(2):
        Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
        run_pending()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 3 and len(CALLS) == 3
    assert "RuntimeError: the mail server is down" in job.last_error
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    assert run_pending() == 0


def test_a_job_whose_worker_died_on_the_last_attempt_fails() -> None:
    job = enqueue("test.email", {"to": "a@example.org", "body": "hi"}, max_attempts=1)
    claim("dies")
    Job.objects.filter(pk=job.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert claim("other") is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "stopped" in job.last_error


def test_unknown_kind_fails_with_a_clear_error() -> None:
    job = enqueue("no.such.kind", max_attempts=1)
    run_pending()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "no handler" in job.last_error


def test_cli_worker_once(monkeypatch) -> None:
    from kapcare import cli

    monkeypatch.setattr(cli, "_setup_django", lambda: None)
    enqueue("test.email", {"to": "b@example.org", "body": "hi"})
    assert cli.main(["worker", "--once"]) == 0
    assert mail.outbox[0].to == ["b@example.org"]
