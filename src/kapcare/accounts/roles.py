"""The roles of kapcare users (docs/architecture.md §1)."""

from django.db import models


class Role(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse"
    THERAPIST = "therapist", "Therapist"
    FRONT_DESK = "front_desk", "Front desk"
    PATIENT = "patient", "Patient"


ALL_ROLES: frozenset[str] = frozenset(Role.values)
STAFF: frozenset[str] = ALL_ROLES - {Role.PATIENT}
CLINICAL: frozenset[str] = frozenset({Role.PRESCRIBER, Role.NURSE, Role.THERAPIST})
