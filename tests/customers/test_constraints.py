"""The database refuses variants even when a code path skips the services (the last line)."""

import pytest
from django.db import IntegrityError, transaction

from tests.factories import CustomerFactory
from users.models import User

pytestmark = pytest.mark.django_db


def insert(**fields):
    base = {
        "phone": "+233551234567",
        "first_name": "A",
        "last_name": "B",
        "shipping_mark": "PM OTHER",
        "email": None,
    }
    with transaction.atomic():
        User.objects.bulk_create([User(**(base | fields))])


def test_an_email_differing_only_in_case_is_refused_by_the_database():
    CustomerFactory(email="kwame@example.com")

    with pytest.raises(IntegrityError):
        insert(email="KWAME@EXAMPLE.COM")


def test_a_mark_differing_only_in_case_is_refused_by_the_database():
    CustomerFactory(shipping_mark="PM 1 KWAME")

    with pytest.raises(IntegrityError):
        insert(shipping_mark="pm 1 kwame")


def test_a_mark_with_doubled_spaces_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        insert(shipping_mark="PM  1 KWAME")


def test_a_phone_not_in_e164_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        insert(phone="0241234567")


def test_a_blank_email_is_refused_in_favour_of_null():
    with pytest.raises(IntegrityError):
        insert(email="")


def test_many_customers_may_have_no_email():
    CustomerFactory(email=None)

    insert(email=None)

    assert User.objects.filter(email__isnull=True).count() == 2
