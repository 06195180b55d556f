from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kapcare.web"
    label = "web"
    verbose_name = "Web pages"
