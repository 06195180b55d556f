from django.urls import path

from kapcare.integration import views

app_name = "integration"

urlpatterns = [
    path("patients/<int:patient_id>/timeline/", views.timeline, name="timeline"),
    path("patients/<int:patient_id>/chart/timeline/", views.chart_timeline, name="chart_timeline"),
    path("patients/<int:patient_id>/integration-notes/new/", views.note_create, name="note_create"),
    path("integration-notes/<int:note_id>/", views.note_detail, name="note"),
    path("patients/<int:patient_id>/journal/new/", views.journal_create, name="journal_create"),
    path("journal/<int:entry_id>/", views.journal_detail, name="journal_entry"),
]
