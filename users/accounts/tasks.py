"""Background tasks of the accounts (Django's tasks API): each takes an id and calls a service;
and the requests that queue them."""

from django_tasks import task

from users.accounts import reset, verification


@task()
def password_reset_pin_send_task(user_id: int | None) -> bool:
    return reset.password_reset_pin_send(user_id=user_id)


def password_reset_request(*, phone: str) -> None:
    """Queues the sending of a PIN to the account with this phone, if there is one. The caller
    learns nothing either way: the same answer, after the same work (one indexed look-up of an
    id, one task queued; the worker decides, hashes and texts)."""
    password_reset_pin_send_task.enqueue(user_id=reset.account_id_of(phone))


@task()
def password_reset_link_send_task(user_id: int | None) -> bool:
    return reset.password_reset_link_send(user_id=user_id)


def password_reset_link_request(*, phone: str) -> None:
    """Queues the texting of a reset link to the active account with this phone, if there is
    one: the same work for every phone, as password_reset_request."""
    password_reset_link_send_task.enqueue(user_id=reset.account_id_of(phone))


@task()
def verification_pin_send_task(user_id: int | None, resend: bool = False) -> bool:
    return verification.verification_pin_send(user_id=user_id, resend=resend)


@task()
def registered_details_notice_task(phone: str) -> bool:
    return verification.registered_details_notice(phone=phone)


def verification_pin_resend_request(*, phone: str) -> None:
    """Queues a new verification PIN for the unverified account with this phone, if there is
    one and its limits allow (the worker decides): the same work for every phone."""
    verification_pin_send_task.enqueue(user_id=reset.account_id_of(phone), resend=True)
