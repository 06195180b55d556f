from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "kapcare.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
