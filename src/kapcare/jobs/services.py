"""The persistent job queue: `enqueue` work, and `run_pending` / `work` to do it.

Claiming is one conditional UPDATE (`... WHERE id = ? AND <still claimable>`), which is atomic
on SQLite and PostgreSQL alike: two workers can race for a job and exactly one wins. A claim is
a lease (`locked_until`); a worker that dies leaves its job to be reclaimed when the lease runs
out. Failed attempts retry with exponential backoff until `max_attempts`, then the job stays
`failed` with its last error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from kapcare.jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]

DEFAULT_LEASE_SECONDS = 300
"""How long a claimed job is reserved for its worker before another may reclaim it."""
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600

_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does jobs of `kind` (its one argument is the payload)."""

    def register(function: Handler) -> Handler:
        _HANDLERS[kind] = function
        return function

    return register


def handlers() -> dict[str, Handler]:
    """Registered handlers (apps register theirs from `AppConfig.ready`)."""
    return dict(_HANDLERS)


def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_after: datetime | None = None,
    max_attempts: int = 5,
) -> Job:
    """Add a job. Called inside the caller's transaction, the job exists only if that
    transaction commits: the work and its record are all-or-nothing."""
    return Job.objects.create(
        kind=kind,
        payload=payload or {},
        run_after=run_after or timezone.now(),
        max_attempts=max_attempts,
    )


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 30 s, 60 s, 120 s ... at most an hour."""
    return timedelta(
        seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    )


def _claimable(now: datetime) -> Q:
    pending = Q(status=JobStatus.PENDING, run_after__lte=now)
    lease_expired = Q(status=JobStatus.RUNNING, locked_until__lt=now)
    return (pending | lease_expired) & Q(attempts__lt=F("max_attempts"))


def _fail_abandoned(now: datetime) -> None:
    """A job whose worker died on its last attempt is failed, not retried for ever."""
    Job.objects.filter(
        status=JobStatus.RUNNING, locked_until__lt=now, attempts__gte=F("max_attempts")
    ).update(
        status=JobStatus.FAILED,
        finished_at=now,
        locked_until=None,
        last_error="The worker running the last attempt stopped before finishing it.",
    )


def claim(worker_id: str, *, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> Job | None:
    """Claim the next ready job for `worker_id`, or None when there is none."""
    now = timezone.now()
    _fail_abandoned(now)
    for candidate in (
        Job.objects.filter(_claimable(now))
        .order_by("run_after", "id")
        .values_list("id", flat=True)[:10]
    ):
        won = Job.objects.filter(_claimable(now), pk=candidate).update(
            status=JobStatus.RUNNING,
            locked_by=worker_id,
            locked_until=now + timedelta(seconds=lease_seconds),
            attempts=F("attempts") + 1,
        )
        if won:
            return Job.objects.get(pk=candidate)
    return None


def run_job(job: Job, worker_id: str) -> bool:
    """Do one claimed job and record the outcome. True when it succeeded."""
    mine = Job.objects.filter(pk=job.pk, locked_by=worker_id, status=JobStatus.RUNNING)
    function = handlers().get(job.kind)
    try:
        if function is None:
            raise LookupError(f"kind: no handler for job kind {job.kind!r}")
        function(dict(job.payload))
    except Exception as error:
        now = timezone.now()
        message = f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}"[:4000]
        if job.attempts >= job.max_attempts:
            mine.update(
                status=JobStatus.FAILED, last_error=message, finished_at=now, locked_until=None
            )
            logger.error("job %s (%s) failed for good: %s", job.pk, job.kind, error)
        else:
            mine.update(
                status=JobStatus.PENDING,
                last_error=message,
                run_after=now + backoff(job.attempts),
                locked_until=None,
            )
            logger.warning(
                "job %s (%s) attempt %s failed: %s", job.pk, job.kind, job.attempts, error
            )
        return False
    mine.update(status=JobStatus.DONE, finished_at=timezone.now(), locked_until=None)
    return True


def run_pending(worker_id: str | None = None, *, limit: int = 1000) -> int:
    """Do every ready job (up to `limit`) and return how many were run."""
    worker_id = worker_id or default_worker_id()
    ran = 0
    while ran < limit:
        job = claim(worker_id)
        if job is None:
            break
        run_job(job, worker_id)
        ran += 1
    return ran


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Periodic:
    """A function the worker calls every `every_seconds`; in one transaction unless
    `atomic` is off (a long read-only pass would hold SQLite's write lock throughout)."""

    name: str
    every_seconds: int
    function: Callable[[], Any]
    last_run: float = field(default=-1e18)
    atomic: bool = True


_PERIODIC: dict[str, tuple[Callable[[], int], Callable[[], Any], bool]] = {}


def register_periodic(
    name: str, every_seconds: Callable[[], int], function: Callable[[], Any], *, atomic: bool = True
) -> None:
    """Have every worker call `function` every `every_seconds()` seconds (apps register from
    `AppConfig.ready`). The function must be safe to run from several workers at once."""
    _PERIODIC[name] = (every_seconds, function, atomic)


def periodic_tasks() -> list[Periodic]:
    return [
        Periodic(name, every(), function, atomic=atomic)
        for name, (every, function, atomic) in _PERIODIC.items()
    ]


def run_periodic(tasks: Iterable[Periodic], now: float | None = None) -> None:
    now = time.monotonic() if now is None else now
    for task in tasks:
        if now - task.last_run >= task.every_seconds:
            task.last_run = now
            try:
                with transaction.atomic() if task.atomic else contextlib.nullcontext():
                    task.function()
            except Exception:
                logger.exception("periodic task %r failed", task.name)


def work(*, once: bool = False, poll_seconds: float = 2.0) -> int:
    """The worker loop: periodic passes, then every ready job; repeat until stopped
    (SIGTERM or Ctrl-C finishes the current job first). `once`: a single pass, then return."""
    worker_id = default_worker_id()
    tasks = periodic_tasks()
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    if not once:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    total = 0
    while True:
        if not connection.in_atomic_block:
            close_old_connections()  # drop a connection the database has closed meanwhile
        run_periodic(tasks)
        while not stopping:
            job = claim(worker_id)
            if job is None:
                break
            run_job(job, worker_id)
            total += 1
        if once or stopping:
            return total
        time.sleep(poll_seconds)
