"""The patient list's rows: what each shows and where it links for each role."""

from __future__ import annotations

import re
from datetime import date

from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.patients.services import create_patient

ACTOR = Actor.system("test")


def _patient(given: str, family: str, **fields):
    return create_patient(
        ACTOR, given_name=given, family_name=family, birth_date=fields.pop("birth_date",
        date(1980, 1, 2)), sex_at_birth=fields.pop("sex_at_birth", "female"), **fields,
    )  # fmt: skip


def test_rows_show_the_patient_and_link_by_role(users, client_for) -> None:
    ada = _patient("Ada", "Lovelace", birth_date=date(1985, 12, 10), is_synthetic=True)
    row = (
        r'<th scope="row"><a href="{href}">Lovelace, Ada</a> <span class="tag" '
        r'title="Synthetic demo record">synthetic</span></th>\s*<td>{mrn}</td>\s*'
        r"<td>1985-12-10</td>\s*<td>Female</td>"
    )
    nurse = client_for(users["nurse"]).get("/patients/").content.decode()
    assert re.search(row.format(href=f"/patients/{ada.pk}/", mrn=ada.mrn), nurse)
    desk = client_for(users["front_desk"]).get("/patients/").content.decode()
    assert re.search(row.format(href=f"/patients/{ada.pk}/details/", mrn=ada.mrn), desk)
    reads = AuditEntry.objects.filter(action=Action.READ, patient_id=ada.pk)
    assert reads.count() == 2
