from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kapcare.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from kapcare.audit import jobs  # noqa: F401  (imported for its periodic checkpoint)
