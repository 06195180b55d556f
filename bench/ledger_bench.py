"""The controlled-substance ledger at a million entries (issue 12's benchmark).

Seeds a fresh database with one IV session run to dosing through the real services
(kapcare.dosing.scenario), then KAPCARE_BENCH_LEDGER_ENTRIES (1,000,000) entries over two
years written in bulk (bench/ledger_seed.py: sealed into the keyed chain, balances kept), then
KAPCARE_BENCH_LEDGER_WITHDRAWALS (300) real withdrawals through
`kapcare.ledger.services.record_withdrawal` (0.8 mL drawn, 0.7 mL given, 0.1 mL wasted with a
witness, from the demo's stock). It measures:

- a withdrawal: each `record_withdrawal` call's p50/p95 on the million-entry ledger (goal: p95
  under 20 ms);
- the two-year dispensing log of the 50 mg/mL vial, the most used product (the report's page,
  its CSV and its PDF) and its running-balance ledger, each the median of 3 (goal: under 5 s);
- `kapcare ledger verify`: the hash chain walked and every balance checked (goal: under 60 s).

Runs SQLite (a temp file) and PostgreSQL when KAPCARE_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test) answers; that database's schema is dropped and
rebuilt. Each database gets its own subprocess. Writes bench/results/ledger.json.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import ledger_seed
from common import POSTGRES_URL, fresh_database, percentiles, postgres_reachable, subprocess_env

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ledger.json"
TARGET_ENTRIES = int(os.environ.get("KAPCARE_BENCH_LEDGER_ENTRIES", "1000000"))
WITHDRAWALS = int(os.environ.get("KAPCARE_BENCH_LEDGER_WITHDRAWALS", "300"))
DAYS = 730
GOAL_WITHDRAWAL_P95_MS = 20.0
GOAL_REPORT_S = 5.0
GOAL_VERIFY_S = 60.0


def _median_of(call: Any, runs: int = 3) -> float:
    taken = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        taken.append(time.perf_counter() - started)
    return round(statistics.median(taken), 3)


def run_one() -> dict[str, Any]:
    """Runs inside a subprocess whose environment selects the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapcare.config.test_settings")
    import django

    django.setup()
    from decimal import Decimal

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from kapcare.accounts.models import User
    from kapcare.audit.services import Actor
    from kapcare.courses.models import Protocol
    from kapcare.courses.services import plan_course
    from kapcare.dosing import scenario
    from kapcare.dosing.models import State
    from kapcare.intake.demo import complete_intake_fields
    from kapcare.intake.services import review_screening, screen_patient
    from kapcare.ledger import commands, reports, services
    from kapcare.ledger import demo as ledger_demo
    from kapcare.ledger.models import Entry, Product, StorageLocation
    from kapcare.patients.services import create_patient

    def log(message: str) -> None:
        print(f"  [{connection.vendor}] {message}", file=sys.stderr, flush=True)

    fresh_database()
    people = {
        role: User.objects.create_user(
            f"bench.{role}@example.org", "x", full_name=f"Bench {role}", role=role,
            is_synthetic=True,
        )
        for role in ("nurse", "prescriber", "clinic_admin")
    }  # fmt: skip
    nurse, prescriber = Actor.for_user(people["nurse"]), Actor.for_user(people["prescriber"])
    patient = create_patient(
        nurse, given_name="Bench", family_name="Patient",
        birth_date=timezone.localdate().replace(year=1980), sex_at_birth="male",
        is_synthetic=True,
    )  # fmt: skip
    screening = screen_patient(nurse, patient, complete_intake_fields())
    review_screening(prescriber, screening.pk, "accept", "")
    course = plan_course(
        prescriber, patient, Protocol.objects.get(code="iv-ptsd"), timezone.localdate()
    )
    scenario.sign_treatment_consent(people["nurse"], patient, course.route)
    now = timezone.now()
    session = scenario.run_to(
        course.dosing_sessions.order_by("appointment__starts_at").first(),
        State.DOSING,
        nurse=people["nurse"],
        prescriber=people["prescriber"],
        start=now - timedelta(hours=3),
    )
    witness = ledger_demo.waste_witness(people["prescriber"])
    first = now - timedelta(days=DAYS)
    location = StorageLocation.objects.filter(kind="safe").order_by("id").first()
    started = time.perf_counter()
    seeded_entries = ledger_seed.seed(
        TARGET_ENTRIES,
        first,
        DAYS,
        {"session": session, "nurse": people["nurse"], "witness": people["prescriber"],
         "admin": people["clinic_admin"], "location": location},
    )  # fmt: skip
    seeded = time.perf_counter() - started
    log(f"{seeded_entries} entries written in bulk in {seeded:.1f}s")
    # The planner's statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) keep
    # them on a ledger grown over two years; a bulk load this fast leaves them empty.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # Then real withdrawals through the service, on top of the million: what a nurse waits for.
    samples: list[float] = []
    for number in range(WITHDRAWALS):
        at = now - timedelta(minutes=2 * (WITHDRAWALS - number))
        vial = ledger_demo.container_for("iv", Decimal(40), at)
        t0 = time.perf_counter()
        services.record_withdrawal(
            nurse, container_id=vial.pk, session=session, drawn_ml=Decimal("0.80"),
            given_ml=Decimal("0.70"), wasted_ml=Decimal("0.10"),
            waste_manner="Expelled into a drug-disposal container", witness=witness, now=at,
        )  # fmt: skip
        samples.append(time.perf_counter() - t0)
    entries = Entry.objects.count()
    log(f"{len(samples)} withdrawals through the service; {entries} entries in all")
    log(f"withdrawal {percentiles(samples)}")
    withdrawal = {**percentiles(samples), "goal_p95_ms_below": GOAL_WITHDRAWAL_P95_MS}
    withdrawal["meets_goal"] = withdrawal["p95_ms"] < GOAL_WITHDRAWAL_P95_MS

    product = Product.objects.get(mg_per_ml=50)
    period = {
        "product": str(product.pk),
        "start": (first - timedelta(days=2)).date().isoformat(),
        "end": now.date().isoformat(),
    }
    # Each through the report view, as the clinic admin opens it: the page (its first 200
    # rows, with the count of all), the CSV and the PDF (every row).
    client = Client()
    client.force_login(people["clinic_admin"])

    def fetch(kind: str, output: str) -> int:
        answer = client.get("/ledger/reports/", {"kind": kind, **period, **output_of[output]})
        if answer.status_code != 200:
            raise RuntimeError(f"{kind} {output}: {answer.status_code}")
        return len(answer.content)

    output_of: dict[str, dict[str, str]] = {
        "table": {}, "csv": {"format": "csv"}, "pdf": {"format": "pdf"},
    }  # fmt: skip
    timings: dict[str, Any] = {}
    for kind in ("dispensing", "running"):
        rows = reports.build(kind, period, page=1).total_rows
        timings[kind] = {"rows": rows}
        for output in output_of:
            timings[kind][f"{output}_s"] = _median_of(lambda k=kind, o=output: fetch(k, o))
            timings[kind][f"{output}_bytes"] = fetch(kind, output)
        timings[kind]["meets_goal"] = (
            max(timings[kind][f"{way}_s"] for way in output_of) < GOAL_REPORT_S
        )
        log(f"{kind}: {rows} rows; {timings[kind]}")
    out, err = io.StringIO(), io.StringIO()
    verify_s = _median_of(lambda: commands.verify(out, err), runs=1)
    verified = commands.verify(io.StringIO(), io.StringIO()) == 0
    log(f"verify {verify_s}s, intact: {verified}")
    return {
        "database": connection.vendor,
        "days": DAYS,
        "entries": entries,
        "entries_written_in_bulk": seeded_entries,
        "seed_seconds": round(seeded, 1),
        "withdrawal": withdrawal,
        "reports": timings,
        "verify": {
            "seconds": verify_s,
            "intact": verified,
            "goal_s_below": GOAL_VERIFY_S,
            "meets_goal": verify_s < GOAL_VERIFY_S,
        },
    }


def main() -> int:
    if "--one" in sys.argv:
        print(json.dumps(run_one()))
        return 0
    with tempfile.TemporaryDirectory() as var_dir:
        databases = {"sqlite": f"sqlite:///{var_dir}/bench.sqlite3"}
        if "--sqlite-only" not in sys.argv and postgres_reachable():
            databases["postgresql"] = POSTGRES_URL
        elif "--sqlite-only" not in sys.argv:
            print(f"PostgreSQL not reachable at {POSTGRES_URL}: measuring SQLite only")
        results = {}
        for name, url in databases.items():
            print(f"== {name}: {TARGET_ENTRIES} entries over {DAYS} days")
            done = subprocess.run(
                [sys.executable, __file__, "--one"],
                env=subprocess_env(url, var_dir),
                stdout=subprocess.PIPE,
                text=True,
            )
            if done.returncode:
                print(done.stdout[-3000:], file=sys.stderr)
                return 1
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    RESULTS.write_text(
        json.dumps(
            {
                "what": "the ledger's reports over two years of records, a withdrawal, verify",
                "scope": f"{TARGET_ENTRIES} entries over {DAYS} days (bench/ledger_seed.py), "
                f"then {WITHDRAWALS} withdrawals through the service",
                "goal": {
                    "withdrawal_p95_ms_below": GOAL_WITHDRAWAL_P95_MS,
                    "report_s_below": GOAL_REPORT_S,
                    "verify_s_below": GOAL_VERIFY_S,
                },
                "runs": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
