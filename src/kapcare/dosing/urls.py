from django.urls import path

from kapcare.dosing import views

app_name = "dosing"

# Every route of a session's page: (the path after sessions/<id>/, the view, its name).
SESSION_ROUTES = (
    ("", views.session_page, "session"),
    ("transition/", views.transition, "transition"),
    ("checklist/", views.checklist, "checklist"),
    ("centering/", views.centering, "centering"),
    # HTML fragment: the order as the prescriber types the dose (HTMX).
    ("order/preview/", views.order_preview, "order_preview"),
    ("order/", views.order_sign, "order_sign"),
    ("administration/", views.administration, "administration"),
    # The administration saved and dosing started in one post; "stopped now" in one tap.
    ("administration/start/", views.start_dosing, "start_dosing"),
    ("administration/stop/", views.stop_dosing, "stop_dosing"),
    ("devices/", views.device, "device"),
    # HTMX posts get back the live vitals panel; plain posts, the page.
    ("vitals/", views.vitals, "vitals"),
    ("vitals/reminder/", views.vitals_reminder, "vitals_reminder"),
    ("side-effects/", views.side_effect, "side_effect"),
    ("interventions/", views.intervention, "intervention"),
    ("scores/", views.score, "score"),
    ("discharge/", views.discharge, "discharge"),
    ("reflection/", views.reflection, "reflection"),
    ("note/", views.note, "note"),
    ("note/sign/", views.note_sign, "note_sign"),
    ("note/amendments/", views.note_amend, "note_amend"),
    ("rems.pdf", views.rems_pdf, "rems_pdf"),
)

urlpatterns = [
    *(
        path(f"sessions/<int:session_id>/{suffix}", view, name=name)
        for suffix, view, name in SESSION_ROUTES
    ),
    path(
        "vital-alerts/<int:vital_alert_id>/acknowledge/",
        views.vital_alert_acknowledge,
        name="vital_alert_acknowledge",
    ),
]
