"""Background tasks of the accounts (Django's tasks API): each takes an id and calls a service."""

from django_tasks import task

from users.accounts import reset


@task()
def password_reset_pin_send_task(user_id: int | None) -> bool:
    return reset.password_reset_pin_send(user_id=user_id)
