from django.urls import path

from kapcare.patients import views

app_name = "patients"

urlpatterns = [
    path("patients/<int:patient_id>/", views.chart, name="chart"),
    path("patients/<int:patient_id>/details/", views.details, name="details"),
]
