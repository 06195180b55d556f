from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "kapcare.assessments"
    label = "assessments"
    verbose_name = "Measurement-based care"

    def ready(self) -> None:
        # Registers the background job handlers and the periodic invitation pass.
        from kapcare.assessments import jobs  # noqa: F401  (imported for its registrations)
