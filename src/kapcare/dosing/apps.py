from django.apps import AppConfig


class DosingConfig(AppConfig):
    # Not "sessions": that label belongs to django.contrib.sessions.
    name = "kapcare.dosing"
    label = "dosing"
    verbose_name = "Dosing sessions"
