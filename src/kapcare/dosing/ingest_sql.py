"""The one place the dosing app writes raw SQL: the vitals ingest's multi-row INSERT.

The ORM's ``bulk_create`` prepares every value of every row through the field classes, which was
most of the ingest time (bench/sessions_bench.py measures it: the goals are 2,000 readings/s on
SQLite and 5,000/s on PostgreSQL, results in bench/results/). The values reaching here are
already checked and typed. PostgreSQL gets one array per column (``INSERT ... SELECT ... FROM
unnest(...)``, as Django 5.2's bulk_create does), SQLite a multi-row VALUES list; both with
RETURNING. Only quoted model names, column types and placeholders are formatted into the SQL;
every value is a parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from kapcare.dosing.models import VitalReading

READING_COLUMNS = (
    "taken_at", "phase", "systolic", "diastolic", "heart_rate", "spo2", "resp_rate",
)  # fmt: skip
BATCH_COLUMNS = ("session_id", "recorded_by_id", "recorded_at")  # the same for every row
# Rows per INSERT: at most 5,000 parameters, well inside SQLite's and PostgreSQL's limits.
_INSERT_CHUNK = 500


def _cast(column: str) -> str:
    field = VitalReading._meta.get_field(column.removesuffix("_id"))
    return str(field.db_type(connection)).split("(")[0]


def insert_readings(shared: tuple[int, int, datetime], rows: list[tuple[Any, ...]]) -> list[int]:
    """Insert the rows (``READING_COLUMNS``; ``shared`` fills ``BATCH_COLUMNS``) and return
    their ids in batch order, in one statement per chunk."""
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    table = quote(VitalReading._meta.db_table)
    columns = ", ".join(quote(c) for c in (*BATCH_COLUMNS, *READING_COLUMNS))
    returning = f"RETURNING {quote('id')}"
    shared_params = [shared[0], shared[1], adapt(shared[2])]
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            if connection.vendor == "postgresql":
                scalars = ", ".join(f"%s::{_cast(c)}" for c in BATCH_COLUMNS)
                arrays = ", ".join(f"%s::{_cast(c)}[]" for c in READING_COLUMNS)
                sql = (
                    f"INSERT INTO {table} ({columns}) SELECT {scalars}, u.* "  # noqa: S608  (names from the model; values are parameters)
                    f"FROM unnest({arrays}) AS u {returning}"
                )
                params = shared_params + [list(c) for c in zip(*chunk, strict=True)]
            else:
                row_sql = "(" + ", ".join(["%s"] * (3 + len(READING_COLUMNS))) + ")"
                values = ", ".join([row_sql] * len(chunk))
                sql = f"INSERT INTO {table} ({columns}) VALUES {values} {returning}"  # noqa: S608  (names from the model)
                params = []
                for row in chunk:
                    params += shared_params
                    params.append(adapt(row[0]))
                    params.extend(row[1:])
            cursor.execute(sql, params)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids
