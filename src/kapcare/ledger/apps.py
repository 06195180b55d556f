from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "kapcare.ledger"
    label = "ledger"
    verbose_name = "Controlled-substance ledger"

    def ready(self) -> None:
        from kapcare.ledger import chain  # noqa: F401  (registers the ledger's chain)
