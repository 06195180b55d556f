from django.contrib import admin
from django.urls import include, path

from kapcare.api.main import api

admin.site.site_header = "kapcare administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("consultation/", include("kapcare.consultations.urls")),
    path("", include("kapcare.accounts.urls")),
    path("", include("kapcare.accounts.urls_tokens")),
    path("", include("kapcare.assessments.urls")),
    path("", include("kapcare.courses.urls")),
    path("", include("kapcare.dosing.urls")),
    path("", include("kapcare.ledger.urls")),
    path("", include("kapcare.integration.urls")),
    path("", include("kapcare.intake.urls")),
    path("", include("kapcare.patients.urls")),
    path("", include("kapcare.web.urls")),
]
