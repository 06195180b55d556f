"""C-SSRS screener questions its skip logic did not ask are stored as null, not as 0 (issue 14).

Before issue 14 a question not asked was stored as 0 ("No"): the form turned a blank follow-up
into 0 and the core required 0 there, so every 0 at such a position means "not asked" and the
conversion loses nothing. Items 3-5 (responses[2..4]) become null when item 2 is 0; item 7
(responses[6]) becomes null when item 6 is 0. Totals, bands and flags are unchanged (the triage
counts a question not asked as no answer, docs/clinical-reference.md §1.4).

Only the current rows are converted (a queryset update, so no new history version): the
historical versions keep what was written at the time. Reversible: null goes back to 0.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# The skip logic of the screen version, frozen here (a migration must not follow later code):
# follow-up item -> the item whose "yes" opens it.
FOLLOW_UPS = {3: 2, 4: 2, 5: 2, 7: 6}
BATCH = 2000


def convert(responses: Any, *, forwards: bool) -> Any:
    """The responses with each question not asked as null (forwards) or as 0 (backwards);
    anything that is not 7 answers is returned unchanged."""
    if not isinstance(responses, list) or len(responses) != 7:
        return responses
    values = list(responses)
    for item, opener in FOLLOW_UPS.items():
        if values[opener - 1] == 1:
            continue
        if forwards and values[item - 1] == 0 and values[item - 1] is not False:
            values[item - 1] = None
        elif not forwards and values[item - 1] is None:
            values[item - 1] = 0
    return values


def _run(apps: Any, forwards: bool) -> None:
    Assessment = apps.get_model("assessments", "Assessment")
    rows = Assessment.objects.filter(instrument="cssrs_screen").only("pk", "responses")
    changed = []
    for row in rows.iterator(chunk_size=BATCH):
        new = convert(row.responses, forwards=forwards)
        if new != row.responses:
            row.responses = new
            changed.append(row)
    Assessment.objects.bulk_update(changed, ["responses"], batch_size=BATCH)


def forwards(apps: Any, schema_editor: Any) -> None:
    _run(apps, forwards=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    _run(apps, forwards=False)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0002_trajectorychart")]

    operations = [migrations.RunPython(forwards, backwards)]
