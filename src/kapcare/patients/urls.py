from django.urls import path

from kapcare.patients import views

app_name = "patients"

urlpatterns = [
    path("patients/new/", views.register, name="register"),
    path("patients/<int:patient_id>/", views.chart, name="chart"),
    path("patients/<int:patient_id>/chart/record/", views.chart_record, name="chart_record"),
    path("patients/<int:patient_id>/details/", views.details, name="details"),
    path("patients/<int:patient_id>/contacts/", views.edit_contacts, name="edit_contacts"),
    path("patients/<int:patient_id>/record/<str:kind>/", views.record_add, name="record_add"),
    path(
        "patients/<int:patient_id>/medications/<int:entry_id>/stop/",
        views.medication_stop,
        name="medication_stop",
    ),
    path(
        "patients/<int:patient_id>/consents/<int:template_id>/",
        views.consent_sign,
        name="consent_sign",
    ),
]
