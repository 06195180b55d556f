from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kapcare.accounts"
    label = "accounts"
    verbose_name = "Staff and patient accounts"

    def ready(self) -> None:
        from kapcare.accounts import idle, mfa, signals  # noqa: F401  (connect the receivers)
