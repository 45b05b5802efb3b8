from django.apps import AppConfig


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"
    verbose_name = "Customers"

    def ready(self) -> None:
        from users.credentials import signals  # noqa: F401 (connects the receivers)
