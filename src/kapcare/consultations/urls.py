from django.urls import path

from kapcare.consultations import views

app_name = "consultations"

urlpatterns = [
    path("", views.request_form, name="request"),
    path("thanks/", views.thanks, name="thanks"),
    path("queue/", views.queue, name="queue"),
    path("queue/<int:consultation_id>/", views.detail, name="detail"),
    path("queue/<int:consultation_id>/callbacks/", views.callback, name="callback"),
    path("queue/<int:consultation_id>/convert/", views.convert, name="convert"),
    path("queue/<int:consultation_id>/close/", views.close, name="close"),
]
