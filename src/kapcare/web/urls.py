from django.contrib.auth import views as auth_views
from django.urls import path

from kapcare.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on every page: send them to the static icon.
    path(
        "favicon.ico",
        views.Favicon.as_view(),
        name="favicon",
    ),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("today/", views.today, name="today"),
    path("me/", views.patient_home, name="patient_home"),
    path("patients/", views.patient_list, name="patient_list"),
    path("pk/", views.pk_explorer, name="pk_explorer"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.token_create, name="token_create"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
