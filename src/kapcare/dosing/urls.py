from django.urls import path

from kapcare.dosing import views

app_name = "dosing"

urlpatterns = [
    path("sessions/<int:session_id>/", views.session_page, name="session"),
    path("sessions/<int:session_id>/transition/", views.transition, name="transition"),
    path("sessions/<int:session_id>/checklist/", views.checklist, name="checklist"),
    path("sessions/<int:session_id>/centering/", views.centering, name="centering"),
    # HTML fragment: the order as the prescriber types the dose (HTMX).
    path("sessions/<int:session_id>/order/preview/", views.order_preview, name="order_preview"),
    path("sessions/<int:session_id>/order/", views.order_sign, name="order_sign"),
    path("sessions/<int:session_id>/administration/", views.administration, name="administration"),
    path("sessions/<int:session_id>/devices/", views.device, name="device"),
    # HTMX posts get back the live vitals panel; plain posts, the page.
    path("sessions/<int:session_id>/vitals/", views.vitals, name="vitals"),
    path(
        "sessions/<int:session_id>/vitals/reminder/",
        views.vitals_reminder,
        name="vitals_reminder",
    ),
    path(
        "vital-alerts/<int:vital_alert_id>/acknowledge/",
        views.vital_alert_acknowledge,
        name="vital_alert_acknowledge",
    ),
    path("sessions/<int:session_id>/side-effects/", views.side_effect, name="side_effect"),
    path("sessions/<int:session_id>/interventions/", views.intervention, name="intervention"),
    path("sessions/<int:session_id>/scores/", views.score, name="score"),
    path("sessions/<int:session_id>/discharge/", views.discharge, name="discharge"),
    path("sessions/<int:session_id>/reflection/", views.reflection, name="reflection"),
    path("sessions/<int:session_id>/note/", views.note, name="note"),
    path("sessions/<int:session_id>/note/sign/", views.note_sign, name="note_sign"),
    path("sessions/<int:session_id>/note/amendments/", views.note_amend, name="note_amend"),
    path("sessions/<int:session_id>/rems.pdf", views.rems_pdf, name="rems_pdf"),
]
