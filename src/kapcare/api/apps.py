from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The JSON API is an app for one table of its own: the Idempotency-Keys of POSTs
    (`kapcare.api.models`). The key is an API concern, so it lives with the API rather than in
    an app of its own."""

    name = "kapcare.api"
    label = "api"
    verbose_name = "JSON API"

    def ready(self) -> None:
        # Registers the worker's periodic purge of expired keys.
        from kapcare.api import idempotency  # noqa: F401  (imported for its registration)
