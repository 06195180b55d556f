"""A treatment protocol as a course keeps it: a typed, versioned, frozen snapshot.

A course copies its protocol when it is planned, so a later edit of the template never changes a
course already running. The snapshot is stored as JSON; ``from_json`` reads every version ever
written (version 1 had no ``version`` key) and ``to_json`` writes the current one. Units are in
the field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from kapcare.errors import FieldInvalid

SNAPSHOT_VERSION = 2
"""2: read and written through this type, with a ``version`` key. 1: the protocol's model
fields as plain JSON, read the same way (its keys already carried their units)."""

DOSE_MODES = ("mg_per_kg", "fixed_mg")


def _decimal(value: object) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


@dataclass(frozen=True)
class ProtocolSnapshot:
    code: str
    name: str
    route: str
    dose_mode: str
    weight_basis: str = "actual"
    default_mg_per_kg: Decimal | None = None
    min_mg_per_kg: Decimal | None = None
    max_mg_per_kg: Decimal | None = None
    default_dose_mg: Decimal | None = None
    min_dose_mg: Decimal | None = None
    max_dose_mg: Decimal | None = None
    infusion_duration_min: int | None = None
    infusion_volume_ml: int | None = None
    schedule_code: str = ""
    vitals_thresholds: Mapping[str, Any] = field(default_factory=dict)
    vitals_interval_dosing_min: int = 10
    vitals_interval_recovery_min: int = 15
    min_observation_min: int = 0
    rems_required: bool = False
    integration_after_each_dose: bool = True
    preparation_meeting: bool = True
    source: str = ""
    version: int = SNAPSHOT_VERSION

    def __post_init__(self) -> None:
        if self.dose_mode not in DOSE_MODES:
            raise FieldInvalid("dose_mode", "one_of", f"must be one of {', '.join(DOSE_MODES)}")
        # A read-only copy: the snapshot is frozen all the way down.
        thresholds = MappingProxyType(dict(self.vitals_thresholds))
        object.__setattr__(self, "vitals_thresholds", thresholds)

    @property
    def weight_based(self) -> bool:
        return self.dose_mode == "mg_per_kg"

    @property
    def default_amount(self) -> Decimal | None:
        """The default offered on the order form (mg/kg or mg, by dose mode)."""
        return self.default_mg_per_kg if self.weight_based else self.default_dose_mg

    @property
    def amount_field(self) -> str:
        """The order field the prescriber fills: ``mg_per_kg`` or ``dose_mg``."""
        return "mg_per_kg" if self.weight_based else "dose_mg"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProtocolSnapshot:
        known = {f.name for f in fields(cls)}
        # Model fields a snapshot does not keep (the template's id, whether it is active) drop.
        values = {k: v for k, v in data.items() if k in known}
        for name in (
            "default_mg_per_kg", "min_mg_per_kg", "max_mg_per_kg",
            "default_dose_mg", "min_dose_mg", "max_dose_mg",
        ):  # fmt: skip
            values[name] = _decimal(values.get(name))
        values["vitals_thresholds"] = dict(values.get("vitals_thresholds") or {})
        values["version"] = SNAPSHOT_VERSION
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["vitals_thresholds"] = dict(self.vitals_thresholds)
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}
