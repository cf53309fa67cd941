from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People, organisations and access"

    def ready(self) -> None:
        from accounts import auth_events

        auth_events.connect()
