"""Sign-in links as made and checked by users.credentials.links (the pages that open them are
tested through HTTP in test_link_pages.py)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.factories import CustomerFactory, StaffFactory
from users.credentials.links import (
    LinkState,
    sign_in_link_check,
    sign_in_link_issue,
    sign_in_link_use,
)
from users.models import SignInLink

pytestmark = pytest.mark.django_db

INVITE = SignInLink.Purpose.INVITE
RESET = SignInLink.Purpose.RESET
SMS = SignInLink.Via.SMS


def parts(url: str) -> dict:
    """The uid and token of a link's URL."""
    uid, token = url.rstrip("/").split("/")[-2:]
    return {"uid": uid, "token": token}


def later(**delta):
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=False)


def test_a_link_is_recorded_and_its_url_starts_with_the_backends_public_address():
    customer = CustomerFactory()
    staff = StaffFactory()

    url = sign_in_link_issue(user=customer, purpose=INVITE, via="hand", created_by=staff)

    assert url.startswith("https://api.primepre.test/i/")
    link = SignInLink.objects.get(user=customer)
    assert (link.purpose, link.via, link.created_by, link.used_at) == (INVITE, "hand", staff, None)


def test_a_fresh_link_is_valid_for_its_account():
    customer = CustomerFactory()

    check = sign_in_link_check(**parts(sign_in_link_issue(user=customer, purpose=INVITE, via=SMS)))

    assert check.state == LinkState.VALID
    assert check.user == customer
    assert check.link.purpose == INVITE


def test_an_invite_link_fits_one_sms_with_room_for_its_words():
    customer = CustomerFactory()

    url = sign_in_link_issue(user=customer, purpose=INVITE, via=SMS)

    assert len(url) <= 80


def test_checking_a_link_changes_nothing():
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=INVITE, via=SMS)

    sign_in_link_check(**parts(url))

    assert sign_in_link_check(**parts(url)).state == LinkState.VALID
    assert SignInLink.objects.get().used_at is None


def test_a_used_link_says_so_and_is_used_once():
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=SignInLink.Purpose.CONFIRM, via=SMS)
    link = sign_in_link_check(**parts(url)).link

    assert sign_in_link_use(link=link) is True
    assert sign_in_link_use(link=link) is False
    assert sign_in_link_check(**parts(url)).state == LinkState.USED


def test_a_newer_link_voids_the_older_one():
    customer = CustomerFactory()
    older = sign_in_link_issue(user=customer, purpose=INVITE, via=SMS)

    newer = sign_in_link_issue(user=customer, purpose=RESET, via=SMS)

    assert sign_in_link_check(**parts(older)).state == LinkState.INVALID
    assert sign_in_link_check(**parts(newer)).state == LinkState.VALID


def test_a_password_change_voids_the_link():
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=RESET, via=SMS)

    customer.set_password("another-Long-passphrase-3")
    customer.save()

    assert sign_in_link_check(**parts(url)).state == LinkState.INVALID


def test_a_sign_in_voids_the_link():
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=RESET, via=SMS)

    customer.last_login = timezone.now()
    customer.save()

    assert sign_in_link_check(**parts(url)).state == LinkState.INVALID


@pytest.mark.parametrize(
    ("purpose", "within", "past"),
    [
        (INVITE, {"days": 6, "hours": 23}, {"days": 7, "minutes": 1}),
        (SignInLink.Purpose.CONFIRM, {"days": 2, "hours": 23}, {"days": 3, "minutes": 1}),
        (RESET, {"minutes": 29}, {"minutes": 31}),
    ],
)
def test_a_link_expires_after_its_purposes_time(purpose, within, past):
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=purpose, via=SMS)

    with later(**within):
        assert sign_in_link_check(**parts(url)).state == LinkState.VALID
    with later(**past):
        assert sign_in_link_check(**parts(url)).state == LinkState.EXPIRED


def test_the_expiry_follows_the_setting(settings):
    settings.SIGN_IN_LINK_RESET_MINUTES = 5
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=RESET, via=SMS)

    with later(minutes=6):
        assert sign_in_link_check(**parts(url)).state == LinkState.EXPIRED


def test_a_link_of_an_inactive_account_opens_nothing():
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=INVITE, via=SMS)

    customer.is_active = False
    customer.save()

    assert sign_in_link_check(**parts(url)).state == LinkState.INVALID


def test_a_token_opens_only_the_account_it_was_made_for():
    first, second = CustomerFactory(), CustomerFactory()
    first_url = sign_in_link_issue(user=first, purpose=INVITE, via=SMS)
    second_url = sign_in_link_issue(user=second, purpose=INVITE, via=SMS)

    swapped = {"uid": parts(second_url)["uid"], "token": parts(first_url)["token"]}

    assert sign_in_link_check(**swapped).state == LinkState.INVALID


@pytest.mark.parametrize(
    ("uid", "token"),
    [
        ("zz", "abc-def"),
        ("!!", "abc-def"),
        ("1" * 40, "abc-def"),
        ("1", "not a token"),
        ("1", "x" * 100),
        ("1", ""),
    ],
)
def test_a_made_up_link_is_invalid(uid, token):
    CustomerFactory()

    assert sign_in_link_check(uid=uid, token=token).state == LinkState.INVALID


def test_a_link_made_with_a_retired_secret_key_still_opens(settings):
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=INVITE, via=SMS)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123"

    assert sign_in_link_check(**parts(url)).state == LinkState.VALID


def test_a_link_made_with_an_unknown_secret_key_does_not_open(settings):
    customer = CustomerFactory()
    url = sign_in_link_issue(user=customer, purpose=INVITE, via=SMS)

    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123"

    assert sign_in_link_check(**parts(url)).state == LinkState.INVALID
