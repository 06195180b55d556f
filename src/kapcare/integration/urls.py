from django.urls import path

from kapcare.integration import views

app_name = "integration"

urlpatterns = [
    path("patients/<int:patient_id>/timeline/", views.timeline, name="timeline"),
    path("patients/<int:patient_id>/chart/timeline/", views.chart_timeline, name="chart_timeline"),
    path("patients/<int:patient_id>/integration-notes/new/", views.note_create, name="note_create"),
    path("integration-notes/<int:note_id>/", views.note_detail, name="note"),
    path("integration-notes/<int:note_id>/edit/", views.note_edit, name="note_edit"),
    path("integration-notes/<int:note_id>/sign/", views.note_sign, name="note_sign"),
    path("integration-notes/<int:note_id>/amend/", views.note_amend, name="note_amend"),
    path("patients/<int:patient_id>/journal/new/", views.journal_create, name="journal_create"),
    path("journal/<int:entry_id>/", views.journal_detail, name="journal_entry"),
]
