"""What the benchmarks share: timing, percentiles and the databases they measure."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

POSTGRES_URL = os.environ.get(
    "KAPCARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    p95_index = max(0, round(0.95 * len(ordered)) - 1)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[p95_index] * 1000, 2),
        "samples": len(ordered),
    }


def time_requests(call: Any, repeats: int) -> dict[str, float]:
    """p50/p95 of ``call(index)`` for index 0..repeats-1, after one warm-up call on an item
    the timed calls do not use; any 4xx or 5xx response stops the run."""
    return time_interleaved({"call": call}, repeats)["call"]


def time_interleaved(calls: dict[str, Any], repeats: int) -> dict[str, dict[str, float]]:
    """Like `time_requests` for several pages, taken in turns (round i calls each page with
    index i, in the order given), so a page and the baseline it is compared with see the
    same machine: a shared machine's speed drifts over a run, and timing the pages one after
    another would fold that drift into their ratios."""
    for call in calls.values():
        call(repeats)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for index in range(repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            response = call(index)
            samples[name].append(time.perf_counter() - started)
            if response.status_code >= 400:
                raise RuntimeError(f"{name}: {response.status_code}: {response.content[:300]!r}")
    return {name: percentiles(taken) for name, taken in samples.items()}


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def subprocess_env(database_url: str, var_dir: str) -> dict[str, str]:
    """The environment of one database's run: the test settings (plain HTTP, assets without
    collectstatic; DEBUG stays off)."""
    return {
        **os.environ,
        "KAPCARE_DATABASE_URL": database_url,
        "KAPCARE_VAR_DIR": var_dir,
        "DJANGO_SETTINGS_MODULE": "kapcare.config.test_settings",
        "KAPCARE_ALLOWED_HOSTS": "testserver",
    }


def fresh_database() -> None:
    """An empty database with every migration applied, the data migrations' rows included (the
    seeded protocols and ledger products): PostgreSQL's schema is dropped and rebuilt (a flush
    would also remove the seeded rows); SQLite is a new temp file."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", interactive=False, verbosity=0)
