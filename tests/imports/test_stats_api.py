"""The upload dashboard's stats: counts that match the customer list, every region, and the
imports the caller may see."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import status

from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import customer_record, preview, records
from users.models import ImportJob, Region, Role

pytestmark = pytest.mark.django_db

STATS = reverse("users:customer-stats")
LIST = reverse("users:customer-list")
CONFIRM = reverse("users:import-confirm")


def list_count(client, **filters) -> int:
    return client.get(LIST, filters).json()["count"]


@pytest.fixture
def mixed_customers():
    """Customers in several regions, some inactive, some unverified, some joined long ago."""
    long_ago = timezone.now() - timedelta(days=90)
    return [
        CustomerFactory(region=Region.ASHANTI),
        CustomerFactory(region=Region.ASHANTI, is_active=False),
        CustomerFactory(region=Region.VOLTA, is_verified=False),
        CustomerFactory(region=Region.NORTH_EAST, date_joined=long_ago),
        CustomerFactory(region=Region.GREATER_ACCRA, date_joined=long_ago, is_verified=False),
    ]


@pytest.fixture
def confirm(staff_client, django_capture_on_commit_callbacks):
    def post(job, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            (client or staff_client).post(CONFIRM, {"upload_id": str(job.pk)}, format="json")
        job.refresh_from_db()
        return job

    return post


def test_the_total_matches_the_list_count(staff_client, mixed_customers):
    body = staff_client.get(STATS).json()

    assert body["total_customers"] == list_count(staff_client) == 5


def test_staff_users_are_not_counted(staff_client, staff):
    CustomerFactory()
    StaffFactory()

    body = staff_client.get(STATS).json()

    assert body["total_customers"] == 1
    assert sum(entry["count"] for entry in body["region_distribution"]) == 1


def test_active_and_verified_counts_match_the_list_filtered_by_them(staff_client, mixed_customers):
    body = staff_client.get(STATS).json()

    assert body["active_customers"] == list_count(staff_client, is_active="true") == 4
    assert body["verified_customers"] == list_count(staff_client, is_verified="true") == 3


def test_recent_customers_are_those_joined_in_the_last_30_days(staff_client, mixed_customers):
    since = (timezone.now() - timedelta(days=30)).isoformat()

    body = staff_client.get(STATS).json()

    assert body["recent_customers"] == list_count(staff_client, joined_after=since) == 3


def test_region_counts_match_the_list_filtered_by_region(staff_client, mixed_customers):
    body = staff_client.get(STATS).json()

    for entry in body["region_distribution"]:
        assert entry["count"] == list_count(staff_client, region=entry["region"])


def test_every_region_is_listed_in_order_with_its_label_zeros_included(staff_client):
    CustomerFactory(region=Region.OTI)

    body = staff_client.get(STATS).json()

    assert body["region_distribution"] == [
        {"region": code, "label": label, "count": 1 if code == Region.OTI else 0}
        for code, label in Region.choices
    ]


def test_upload_history_says_who_imported_how_many_and_when(staff_client, staff, confirm):
    job = confirm(preview(staff, [*records(2), customer_record(9, phone="12")]))

    (entry,) = staff_client.get(STATS).json()["upload_history"]

    assert entry["task_id"] == str(job.pk)
    assert entry["owner"] == {"id": staff.id, "name": staff.get_full_name()}
    assert entry["status"] == "COMPLETE"
    assert (entry["total_rows"], entry["created"], entry["failed"], entry["skipped"]) == (
        3,
        2,
        0,
        1,
    )
    assert entry["created_at"]
    assert entry["finished_at"]
    assert "file_name" in entry


def test_upload_history_leaves_out_previews_never_confirmed(staff_client, staff):
    preview(staff, records(2))

    body = staff_client.get(STATS).json()

    assert body["upload_history"] == []


def test_upload_history_shows_only_my_imports(staff_client, confirm):
    other = StaffFactory()
    confirm(preview(other, records(2)), client=bearer_client(other))

    body = staff_client.get(STATS).json()

    assert body["upload_history"] == []


def test_a_super_admin_sees_every_import(confirm):
    other = StaffFactory()
    job = confirm(preview(other, records(2)), client=bearer_client(other))
    boss = StaffFactory(user_role=Role.SUPER_ADMIN)

    body = bearer_client(boss).get(STATS).json()

    assert [entry["task_id"] for entry in body["upload_history"]] == [str(job.pk)]


def test_upload_history_holds_the_latest_20_newest_first(staff_client, staff):
    start = timezone.now() - timedelta(days=1)
    for n in range(22):
        ImportJob.objects.create(
            owner=staff,
            status=ImportJob.Status.COMPLETE,
            file_name=f"file-{n}.xlsx",
            created_at=start + timedelta(minutes=n),
        )

    history = staff_client.get(STATS).json()["upload_history"]

    assert [entry["file_name"] for entry in history] == [f"file-{n}.xlsx" for n in range(21, 1, -1)]


def test_a_customer_gets_403(customer_client):
    response = customer_client.get(STATS)

    assert response.status_code == status.HTTP_403_FORBIDDEN
