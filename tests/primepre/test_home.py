"""`/`: a browser pointed at the server finds the admin, the API docs and health from there."""

import pytest
from django.test import Client
from rest_framework import status

pytestmark = pytest.mark.django_db


def test_the_root_page_links_the_admin_the_api_docs_and_health():
    response = Client().get("/")

    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for link in ("/admin/", "/api/docs/", "/api/health/"):
        assert f'href="{link}"' in html


@pytest.mark.parametrize("link", ["/admin/", "/api/health/"])
def test_the_links_on_the_root_page_answer(link):
    assert Client().get(link, follow=True).status_code == status.HTTP_200_OK


def test_the_root_page_takes_no_writes():
    assert Client().post("/").status_code == status.HTTP_405_METHOD_NOT_ALLOWED
