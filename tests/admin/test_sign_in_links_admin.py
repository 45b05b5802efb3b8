"""Sign-in links from the Django admin, through its pages as a browser would: the customer
list's action "Send sign-in links", and a link made on an account's page to pass on by hand."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests.factories import CustomerFactory, StaffFactory
from users.credentials.links import LinkState, sign_in_link_check
from users.messaging import sms
from users.models import Role, SignInLink, User

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = reverse("admin:users_customer_changelist")
LINK = re.compile(r'value="(https://api\.primepre\.test/i/([0-9a-z]+)/([0-9a-z-]+)/)"')


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send_sign_in_links(web: Client, customers) -> list[str]:
    response = web.post(
        CUSTOMERS,
        {"action": "send_sign_in_links", "_selected_action": [c.pk for c in customers]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def customer_link_page(customer: User) -> str:
    return reverse("admin:users_customer_sign_in_link", args=[customer.pk])


def user_link_page(user: User) -> str:
    return reverse("admin:users_user_sign_in_link", args=[user.pk])


def made_link(response) -> tuple[str, str, str]:
    return LINK.search(response.content.decode()).groups()


# The action


def test_the_action_texts_the_selected_customers_without_a_password(staff):
    waiting = CustomerFactory()
    with_password = CustomerFactory(password="their-own-password-1")
    CustomerFactory()  # not selected

    [message] = send_sign_in_links(signed_in(staff), [waiting, with_password])

    assert message.startswith("Sign-in links queued for 1 customers")
    assert "Skipped 1" in message
    assert [m.to for m in sms.outbox] == [waiting.phone]
    link = SignInLink.objects.get()
    assert (link.user, link.purpose, link.via, link.created_by) == (
        waiting,
        "invite",
        "sms",
        staff,
    )


def test_the_action_twice_texts_each_customer_once(staff):
    customers = [CustomerFactory() for _ in range(2)]
    web = signed_in(staff)
    send_sign_in_links(web, customers)

    [message] = send_sign_in_links(web, customers)

    assert message.startswith("Sign-in links queued for 0 customers")
    assert "Skipped 2" in message
    assert len(sms.outbox) == 2


def test_the_action_is_on_the_customer_list(staff):
    CustomerFactory()  # the admin shows actions on a list with rows

    page = signed_in(staff).get(CUSTOMERS).content.decode()

    assert '<option value="send_sign_in_links">Send sign-in links</option>' in page


def test_with_sms_disabled_the_action_says_so_and_sends_nothing(staff, settings):
    settings.SMS_BACKEND = "disabled"
    customer = CustomerFactory()

    [message] = send_sign_in_links(signed_in(staff), [customer])

    assert "Text messages are not set up on this server" in message
    assert not SignInLink.objects.exists()


# A link made by hand


def test_opening_the_page_makes_nothing(staff):
    customer = CustomerFactory()

    response = signed_in(staff).get(customer_link_page(customer))

    assert response.status_code == 200
    assert "Make a sign-in link" in response.content.decode()
    assert not SignInLink.objects.exists()


def test_the_customer_page_offers_the_link(staff):
    customer = CustomerFactory()

    page = signed_in(staff).get(reverse("admin:users_customer_change", args=[customer.pk]))

    assert customer_link_page(customer) in page.content.decode()


def test_a_link_made_by_hand_is_shown_once_recorded_and_opens_the_invite(staff, settings):
    settings.SMS_BACKEND = "disabled"
    customer = CustomerFactory()

    response = signed_in(staff).post(customer_link_page(customer))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    _, uid, token = made_link(response)
    check = sign_in_link_check(uid=uid, token=token)
    assert (check.state, check.user) == (LinkState.VALID, customer)
    assert (check.link.purpose, check.link.via, check.link.created_by) == ("invite", "hand", staff)
    assert sms.outbox == []


def test_for_an_account_with_a_password_the_link_is_a_reset(staff):
    customer = CustomerFactory(password="their-own-password-1")

    _, uid, token = made_link(signed_in(staff).post(customer_link_page(customer)))

    assert sign_in_link_check(uid=uid, token=token).link.purpose == "reset"


def test_the_next_password_change_kills_a_link_made_by_hand(staff, staff_client):
    customer = CustomerFactory()
    _, uid, token = made_link(signed_in(staff).post(customer_link_page(customer)))

    reset = staff_client.post(
        reverse("users:admin-user-reset-password", args=[customer.pk]),
        {"new_password": "A-new-password-42", "confirm_password": "A-new-password-42"},
        format="json",
    )

    assert reset.status_code == 200
    assert sign_in_link_check(uid=uid, token=token).state == LinkState.INVALID


def test_a_newer_link_kills_the_one_made_before(staff):
    customer = CustomerFactory()
    web = signed_in(staff)
    _, uid, token = made_link(web.post(customer_link_page(customer)))

    web.post(customer_link_page(customer))

    assert sign_in_link_check(uid=uid, token=token).state == LinkState.INVALID


def test_a_super_admin_makes_one_for_a_staff_account():
    boss = StaffFactory(user_role=Role.SUPER_ADMIN)
    colleague = StaffFactory(password=None)

    response = signed_in(boss).post(user_link_page(colleague))

    _, uid, token = made_link(response)
    assert sign_in_link_check(uid=uid, token=token).user == colleague


def test_another_admin_makes_none_for_a_staff_account(staff):
    colleague = StaffFactory()
    web = signed_in(staff)

    on_all_accounts = web.post(user_link_page(colleague))
    on_customers = web.post(customer_link_page(colleague))

    assert on_all_accounts.status_code == 403
    assert on_customers.status_code == 404
    assert not SignInLink.objects.exists()


def test_nobody_makes_one_for_their_own_account():
    boss = StaffFactory(user_role=Role.SUPER_ADMIN)

    response = signed_in(boss).post(user_link_page(boss))

    assert response.status_code == 403
    assert "Change your own password from your profile" in response.content.decode()
    assert not SignInLink.objects.exists()


def test_a_blocked_account_gets_no_link(staff):
    customer = CustomerFactory(is_active=False)

    response = signed_in(staff).post(customer_link_page(customer))

    assert response.status_code == 400
    assert "This account is blocked" in response.content.decode()
    assert not SignInLink.objects.exists()


def test_a_customer_cannot_reach_the_page(customer):
    other = CustomerFactory()

    response = signed_in(customer).post(customer_link_page(other))

    assert response.status_code == 302  # to the admin's sign-in
    assert not SignInLink.objects.exists()
