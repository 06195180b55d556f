from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "kapcare.consultations"
    label = "consultations"
    verbose_name = "Consultation requests"
