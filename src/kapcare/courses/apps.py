from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "kapcare.courses"
    label = "courses"
    verbose_name = "Protocols, treatment courses and scheduling"
