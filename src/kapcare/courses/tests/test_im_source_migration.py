"""The data migration that re-cites the seeded IM protocol's source."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from kapcare.courses.models import Protocol

migration = importlib.import_module("kapcare.courses.migrations.0003_im_protocol_source")
seeds = importlib.import_module("kapcare.courses.migrations.0002_seed_protocols")


@pytest.mark.django_db
def test_the_seeded_im_source_is_re_cited_and_an_edited_one_is_kept():
    im = Protocol.objects.get(code="im")
    seeded = f"{migration.SEEDED_START}the old briefing, {migration.SEEDED_END}"
    Protocol.objects.filter(pk=im.pk).update(source=seeded)
    migration.cite_the_project_reference(apps, None)
    im.refresh_from_db()
    assert im.source == seeds.IM_SOURCE and "docs/clinical-reference.md" in im.source

    Protocol.objects.filter(pk=im.pk).update(source="Our own IM protocol (clinic edit)")
    migration.cite_the_project_reference(apps, None)
    im.refresh_from_db()
    assert im.source == "Our own IM protocol (clinic edit)"
