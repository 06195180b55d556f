from django.urls import path

from kapcare.intake import views

app_name = "intake"

urlpatterns = [
    path("patients/<int:patient_id>/intake/", views.intake_form, name="intake_form"),
    path("screenings/<int:screening_id>/review/", views.review, name="review"),
]
