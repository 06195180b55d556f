from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "kapcare.assessments"
    label = "assessments"
    verbose_name = "Measurement-based care"
