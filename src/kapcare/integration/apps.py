from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "kapcare.integration"
    label = "integration"
    verbose_name = "Integration sessions and journal"
