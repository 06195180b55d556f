"""Course schedules: turn a protocol (as data) into dated sessions.

A ``Protocol`` is a list of ``Block``s. A block says in which course weeks sessions happen, how
many per week, the minimum gap between them and (optionally) which weekdays are allowed.
Course week 1 starts on the first session; week ``n`` is the 7 days from
``first + 7 * (n - 1)``. Within a week, the allowed days closest to an even spread (target day
offsets ``i * 7 // n``: Mon/Thu for twice weekly from a Monday) are chosen; ties go to the
earliest.

Rules enforced for every protocol:
- no session on a day outside ``clinic_days``;
- never two dosing days in a row (at least 2 days between sessions, ``MIN_GAP_DAYS``).

New protocols are data: build a ``Protocol`` and call ``register_protocol``. Weekdays are
numbered as in Python: 0 = Monday ... 6 = Sunday.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import combinations, pairwise

from kapcare.errors import FieldInvalid

MIN_GAP_DAYS = 2
"""Never two dosing days in a row: sessions are at least 2 calendar days apart (kapcare rule)."""

PHASES = ("induction", "maintenance")
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@dataclass(frozen=True)
class Block:
    """Part of a protocol: ``sessions_per_week`` sessions in each listed course week."""

    phase: str
    weeks: tuple[int, ...]
    sessions_per_week: int
    min_gap_days: int = MIN_GAP_DAYS
    weekdays: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Protocol:
    """A named course protocol with its route, blocks and source."""

    code: str
    name: str
    route: str
    blocks: tuple[Block, ...]
    source: str
    notes: str = ""

    @property
    def total_sessions(self) -> int:
        """Number of sessions the protocol plans."""
        return sum(len(b.weeks) * b.sessions_per_week for b in self.blocks)


@dataclass(frozen=True)
class PlannedSession:
    """One planned dosing session. ``number`` counts from 1 across the whole course."""

    date: date
    phase: str
    number: int


PROTOCOLS: dict[str, Protocol] = {}
"""The protocol registry by code. Add to it with ``register_protocol``."""


def _check_weekdays(name: str, days: object) -> tuple[int, ...]:
    if isinstance(days, str | bytes) or not isinstance(days, Iterable):
        raise FieldInvalid(name, "type", f"must be a sequence of weekday numbers 0-6, got {days!r}")
    result = tuple(days)
    if not result:
        raise FieldInvalid(name, "required", "must contain at least one weekday (0=Mon ... 6=Sun)")
    for day in result:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise FieldInvalid(
                name, "out_of_range", f"each weekday must be an integer 0-6, got {day!r}"
            )
    return tuple(sorted(set(result)))


def register_protocol(protocol: Protocol, *, replace: bool = False) -> Protocol:
    """Check ``protocol`` and add it to ``PROTOCOLS``; ``FieldInvalid`` (a ``ValueError``)
    naming the field (``code``, ``blocks[0].weeks``, ...) if it is malformed or the code exists
    (unless ``replace``). Source: kapcare scheduling model (this module).
    """
    code = protocol.code
    if not isinstance(code, str) or not code:
        raise FieldInvalid("code", "required", f"must be a non-empty string, got {code!r}")
    if code in PROTOCOLS and not replace:
        raise FieldInvalid(
            "code", "already_exists", f"protocol {code!r} already exists (pass replace=True)"
        )
    if not protocol.blocks:
        raise FieldInvalid("blocks", "required", f"must contain at least one block ({code})")
    last_week = 0
    for n, block in enumerate(protocol.blocks):
        where = f"blocks[{n}]"
        if block.phase not in PHASES:
            raise FieldInvalid(f"{where}.phase", "one_of", "must be 'induction' or 'maintenance'")
        if not block.weeks:
            raise FieldInvalid(f"{where}.weeks", "required", "must list at least one week")
        for week in block.weeks:
            if isinstance(week, bool) or not isinstance(week, int) or week <= last_week:
                raise FieldInvalid(
                    f"{where}.weeks",
                    "increasing",
                    f"must be increasing integers after week {last_week}, got {week!r}",
                )
            last_week = week
        if not 1 <= block.sessions_per_week <= 3:
            raise FieldInvalid(f"{where}.sessions_per_week", "out_of_range", "must be 1-3")
        if block.min_gap_days < MIN_GAP_DAYS:
            raise FieldInvalid(
                f"{where}.min_gap_days", "out_of_range", f"must be at least {MIN_GAP_DAYS}"
            )
        if block.weekdays is not None:
            _check_weekdays(f"{where}.weekdays", block.weekdays)
    PROTOCOLS[code] = protocol
    return protocol


def _allowed(block: Block, clinic_days: tuple[int, ...]) -> tuple[int, ...]:
    if block.weekdays is None:
        return clinic_days
    return tuple(d for d in clinic_days if d in block.weekdays)


def _days(days: Iterable[int]) -> str:
    return ", ".join(WEEKDAY_NAMES[d] for d in days)


def _place_week(
    week_start: date,
    block: Block,
    allowed: tuple[int, ...],
    previous: date | None,
    *,
    pinned: bool,
) -> tuple[date, ...] | None:
    """Choose the session days of one course week, or ``None`` if they cannot fit.

    Candidates are the allowed days of the 7-day window. A choice must keep ``min_gap_days``
    between sessions (and after ``previous``). Among valid choices the one closest to an even
    spread (target offsets ``i * 7 // n``) wins; ties go to the earliest. When ``pinned``, the
    first session must be on ``week_start`` (the course's first session).
    """
    n = block.sessions_per_week
    gap = timedelta(days=block.min_gap_days)
    window = [week_start + timedelta(days=k) for k in range(7)]
    candidates = [d for d in window if d.weekday() in allowed]
    targets = [i * 7 // n for i in range(n)]
    best: tuple[int, tuple[date, ...]] | None = None
    for combo in combinations(candidates, n):
        if pinned and combo[0] != week_start:
            continue
        if previous is not None and combo[0] - previous < gap:
            continue
        if any(b - a < gap for a, b in pairwise(combo)):
            continue
        cost = sum(abs((d - week_start).days - t) for d, t in zip(combo, targets, strict=True))
        if best is None or (cost, combo) < best:
            best = (cost, combo)
    return None if best is None else best[1]


def plan_course(
    protocol_code: str, start_date: date, *, clinic_days: Iterable[int] = (0, 1, 2, 3, 4)
) -> list[PlannedSession]:
    """Plan the dated sessions of a course.

    The first session is on the first allowed day on or after ``start_date``. Sessions fall only
    on ``clinic_days`` (0 = Monday) and never on two days in a row. Raises ``FieldInvalid`` (a
    ``ValueError``) for an unknown protocol (``protocol_code``), empty or invalid
    ``clinic_days``, or a protocol that cannot fit the clinic days (``clinic_days``).
    Sources: each protocol's ``source`` (e.g. Feder 2021 for ``iv_ptsd_6x2w``; SPRAVATO
    prescribing information for ``esketamine_trd``).
    """
    if protocol_code not in PROTOCOLS:
        known = ", ".join(sorted(PROTOCOLS))
        raise FieldInvalid(
            "protocol_code", "one_of", f"unknown protocol {protocol_code!r}; allowed: {known}"
        )
    if isinstance(start_date, datetime) or not isinstance(start_date, date):
        raise FieldInvalid("start_date", "type", f"must be a date, got {start_date!r}")
    days = _check_weekdays("clinic_days", clinic_days)
    protocol = PROTOCOLS[protocol_code]

    first_days = _allowed(protocol.blocks[0], days)
    if not first_days:
        needed = _days(protocol.blocks[0].weekdays or ())
        raise FieldInvalid(
            "clinic_days",
            "no_allowed_day",
            f"{protocol_code} needs sessions on {needed}; the clinic is open on {_days(days)}",
        )
    anchor = next(
        start_date + timedelta(days=k)
        for k in range(7)
        if (start_date + timedelta(days=k)).weekday() in first_days
    )

    sessions: list[PlannedSession] = []
    previous: date | None = None
    for block in protocol.blocks:
        allowed = _allowed(block, days)
        for week in block.weeks:
            week_start = anchor + timedelta(days=7 * (week - 1))
            chosen = _place_week(week_start, block, allowed, previous, pinned=not sessions)
            if chosen is None:
                raise FieldInvalid(
                    "clinic_days",
                    "cannot_fit",
                    f"cannot fit {block.sessions_per_week} session(s) in week {week} of "
                    f"{protocol_code} (needs {block.min_gap_days}+ days between sessions) with "
                    f"the clinic open on {_days(days)}",
                )
            for day in chosen:
                sessions.append(PlannedSession(day, block.phase, len(sessions) + 1))
            previous = chosen[-1]
    return sessions


# --- the protocol library --------------------------------------------------------------------

register_protocol(
    Protocol(
        code="iv_ptsd_6x2w",
        name="IV ketamine for chronic PTSD: 6 infusions over 2 weeks (Mon/Wed/Fri)",
        route="iv",
        blocks=(Block("induction", (1, 2), 3, weekdays=(MON, WED, FRI)),),
        source=(
            "Feder A et al. 2021, Am J Psychiatry 178:193-202 (NCT02397889): six IV infusions "
            "of 0.5 mg/kg over 40 min, three a week for 2 weeks"
        ),
    )
)
register_protocol(
    Protocol(
        code="esketamine_trd",
        name="Esketamine nasal spray for treatment-resistant depression (label schedule)",
        route="esketamine",
        blocks=(
            Block("induction", (1, 2, 3, 4), 2),
            Block("maintenance", (5, 6, 7, 8), 1),
            Block("maintenance", (10, 12, 14, 16), 1),
        ),
        source=(
            "SPRAVATO prescribing information, section 2: induction weeks 1-4 twice weekly; "
            "maintenance weeks 5-8 once weekly; week 9 on every 2 weeks or weekly (least "
            "frequent that keeps the response). kapcare plans every 2 weeks through week 16"
        ),
        notes="Day 1: 56 mg; then 56 or 84 mg. Re-plan weekly if the response is not kept.",
    )
)
register_protocol(
    Protocol(
        code="esketamine_mdsi",
        name="Esketamine for depression with acute suicidal ideation or behaviour: 4 weeks",
        route="esketamine",
        blocks=(Block("induction", (1, 2, 3, 4), 2),),
        source=(
            "SPRAVATO prescribing information, section 2: 84 mg twice weekly for 4 weeks "
            "(major depressive disorder with acute suicidal ideation or behaviour)"
        ),
    )
)
register_protocol(
    Protocol(
        code="iv_trd_6x2w",
        name="IV ketamine for treatment-resistant depression: 6 infusions over 2 weeks",
        route="iv",
        blocks=(Block("induction", (1, 2), 3, weekdays=(MON, WED, FRI)),),
        source=(
            "Murrough JW et al. 2013, Biol Psychiatry 74:250-256: six 0.5 mg/kg infusions on a "
            "Mon/Wed/Fri schedule over 12 days"
        ),
    )
)
register_protocol(
    Protocol(
        code="iv_trd_6x3w",
        name="IV ketamine for treatment-resistant depression: 6 infusions, twice weekly",
        route="iv",
        blocks=(Block("induction", (1, 2, 3), 2),),
        source=(
            "clinic policy; twice-weekly infusions were as effective as thrice-weekly in "
            "Singh JB et al. 2016, Am J Psychiatry 173:816-826 (to verify at the source)"
        ),
    )
)
register_protocol(
    Protocol(
        code="im_weekly",
        name="IM ketamine: 6 weekly sessions",
        route="im",
        blocks=(Block("induction", (1, 2, 3, 4, 5, 6), 1),),
        source="clinic policy (IM typically 0.5-1.0 mg/kg; no published standard schedule)",
    )
)
register_protocol(
    Protocol(
        code="intranasal_weekly",
        name="Intranasal racemic ketamine: 6 weekly sessions",
        route="intranasal",
        blocks=(Block("induction", (1, 2, 3, 4, 5, 6), 1),),
        source="clinic policy (compounded intranasal racemic ketamine; no published schedule)",
    )
)
