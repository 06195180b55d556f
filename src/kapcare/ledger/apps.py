from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "kapcare.ledger"
    label = "ledger"
    verbose_name = "Controlled-substance ledger"

    def ready(self) -> None:
        from kapcare.ledger import jobs  # noqa: F401  (imported for its periodic checkpoint)
