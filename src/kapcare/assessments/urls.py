from django.urls import path

from kapcare.assessments import views

app_name = "assessments"

urlpatterns = [
    path(
        "patients/<int:patient_id>/assessments/",
        views.patient_assessments,
        name="patient_assessments",
    ),
    path(
        "patients/<int:patient_id>/assessments/new/<str:instrument>/",
        views.record,
        name="record",
    ),
    # HTML fragment: one scale's trajectory chart (the chart page loads it with HTMX).
    path(
        "patients/<int:patient_id>/trajectory/<str:instrument>/",
        views.trajectory,
        name="trajectory",
    ),
    path("assessments/<int:assessment_id>/", views.detail, name="detail"),
    path("patients/<int:patient_id>/home-links/", views.link_create, name="link_create"),
    path("patients/<int:patient_id>/schedules/", views.schedule_create, name="schedule_create"),
    path("schedules/<int:schedule_id>/end/", views.schedule_end, name="schedule_end"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    # Public: a patient's single-use questionnaire link (no sign-in).
    path("q/<str:token>/", views.home_link, name="home_link"),
]
