"""Background tasks of the accounts (Django's tasks API): each takes an id and calls a service;
and the requests that queue them."""

from django_tasks import task

from users.accounts import reset


@task()
def password_reset_pin_send_task(user_id: int | None) -> bool:
    return reset.password_reset_pin_send(user_id=user_id)


def password_reset_request(*, phone: str) -> None:
    """Queues the sending of a PIN to the account with this phone, if there is one. The caller
    learns nothing either way: the same answer, after the same work (one indexed look-up of an
    id, one task queued; the worker decides, hashes and texts)."""
    password_reset_pin_send_task.enqueue(user_id=reset.account_id_of(phone))
