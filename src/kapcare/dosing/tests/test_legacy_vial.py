"""Migration dosing 0004: the free-text vial id is kept as ``legacy_vial_label``, and a row
whose text is a ledger container's label is linked to that container; other rows keep their
text and no container."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from kapcare.dosing.models import Administration, State
from kapcare.dosing.tests.conftest import run_to

pytestmark = pytest.mark.django_db
MIGRATION = importlib.import_module("kapcare.dosing.migrations.0004_administration_container")


def test_a_legacy_vial_label_naming_a_container_is_linked_and_others_keep_their_text(
    dosing_session_for, users
):
    named = run_to(dosing_session_for(), users, State.DOSING).administration
    typed = run_to(dosing_session_for("esketamine"), users, State.DOSING).administration
    assert named.container is not None
    label = named.container.label
    # As the rows stood before the ledger: text only.
    Administration.objects.filter(pk=named.pk).update(container=None, legacy_vial_label=label)
    Administration.objects.filter(pk=typed.pk).update(container=None, legacy_vial_label="V-17")
    MIGRATION.link_by_label(apps, None)
    named.refresh_from_db()
    typed.refresh_from_db()
    assert named.container is not None
    assert (named.container.label, named.legacy_vial_label) == (label, label)
    assert (typed.container, typed.legacy_vial_label) == (None, "V-17")
