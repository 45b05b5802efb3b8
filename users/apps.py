from django.apps import AppConfig


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"
    verbose_name = "Customers"

    def ready(self) -> None:
        from users.sms import warn_if_disabled

        warn_if_disabled()
