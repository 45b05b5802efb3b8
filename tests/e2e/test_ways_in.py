"""The three ways in for customers, in Chromium at a phone's width (390 px): the text each one is
sent is caught by the file SMS backend, its link opened in the browser, the page's form sent,
and then the customer signs in with `POST /api/auth/login/` as the SPA does.

Screenshots go to tests/e2e/artifacts/; with UPDATE_SCREENSHOTS=1 also to docs/images/, where
docs/ways-in.md shows them.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from tests.e2e.browser import browser_page
from tests.factories import CustomerFactory, StaffFactory
from tests.spa import SIGNUP_FORM
from users.models import SignInLink, User

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -r requirements-e2e.txt"
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS_IMAGES = ROOT / "docs" / "images"
PHONE_WIDTH = {"width": 390, "height": 844}
NEW_PASSWORD = "Kakum-canopy-walk-27"
APP_URL = "https://app.primepre.example"


@pytest.fixture
def texts(tmp_path):
    return tmp_path / "sms"


@pytest.fixture
def site(settings, monkeypatch, live_server, texts):
    """The live server texting through the file backend, with links to itself."""
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(texts)
    settings.SIGN_IN_LINK_BASE_URL = live_server.url
    settings.APP_URL = APP_URL
    # Playwright's sync API runs an event loop in this thread, which Django's ORM takes for an
    # async context; the ORM calls here are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server.url


@pytest.fixture
def phone(site):
    """A browser page the size of a phone's screen."""
    with browser_page(viewport=PHONE_WIDTH, is_mobile=True, has_touch=True) as page:
        yield page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=DOCS_IMAGES / f"{name}.png", full_page=True)


def texted_link(texts: Path, to: str, site: str) -> str:
    """The link in the newest text to `to`, as the file backend wrote it (a header naming the
    recipient, a blank line, the text)."""
    messages = sorted(texts.glob("*.txt"))
    bodies = [
        path.read_text().split("\n\n", 1)[1]
        for path in messages
        if path.read_text().startswith(f"To: {to}\n")
    ]
    assert bodies, f"no text to {to}"
    return re.search(rf"{re.escape(site)}/i/\S+/", bodies[-1]).group(0)


def spa_post(page, site: str, path: str, body: dict, token: str | None = None):
    """A JSON request as the SPA's ApiClient sends it."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return page.request.post(f"{site}{path}", data=body, headers=headers)


def signs_in(page, site: str, phone: str, password: str) -> bool:
    answer = spa_post(page, site, "/api/auth/login/", {"phone": phone, "password": password})
    return answer.status == 200 and "access" in answer.json()["tokens"]


def choose_password(page, password: str, button: str) -> None:
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("New password again").fill(password)
    page.get_by_role("button", name=button).click()


def test_an_imported_customer_opens_the_invite_and_sets_a_password(phone, site, texts):
    expect = sync_api.expect
    # Given a staff member who imports a customer and has them texted an invite
    staff = StaffFactory()
    access = str(RefreshToken.for_user(staff).access_token)
    record = {
        "first_name": "Akosua",
        "last_name": "Darko",
        "phone": "024 130 0001",
        "region": "Ashanti",
        "shipping_mark": "PM 1 AKOSUA",
    }
    confirmed = spa_post(
        phone,
        site,
        "/api/auth/customers/excel/bulk-create-async/",
        {"customers": [record], "notify": True},
        access,
    )
    assert confirmed.status == 202
    link = texted_link(texts, "+233241300001", site)

    # When the customer opens the link: the page asks for a password and changes nothing yet
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Set your password")).to_be_visible()
    assert not User.objects.get(phone="+233241300001").has_usable_password()
    shot(phone, "ways-in-invite")

    # And sets one
    choose_password(phone, NEW_PASSWORD, "Set my password")

    # Then the page says so and points to the SPA's sign-in, where the password works
    expect(phone.get_by_role("heading", name="Your password is set.")).to_be_visible()
    expect(phone.get_by_role("link", name="Sign in")).to_have_attribute("href", f"{APP_URL}/login")
    shot(phone, "ways-in-done")
    assert signs_in(phone, site, "0241300001", NEW_PASSWORD)

    # And the link, opened again, says it no longer works
    phone.goto(link)
    expect(phone.get_by_role("heading", name="This link no longer works")).to_be_visible()
    shot(phone, "ways-in-used")


def test_a_customer_who_signed_up_confirms_their_number(phone, site, texts):
    expect = sync_api.expect
    # Given a sign-up through the SPA's own request: the account cannot sign in yet
    form = {**SIGNUP_FORM, "phone": "024 130 0002", "shipping_mark": "PM 1 AMA"}
    answer = spa_post(phone, site, "/api/auth/signup/with-shipping-mark/", form)
    assert answer.json()["success"] is True
    assert not signs_in(phone, site, "0241300002", SIGNUP_FORM["password"])
    link = texted_link(texts, "+233241300002", site)

    # When they open the texted link and press the one button
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Confirm your number")).to_be_visible()
    shot(phone, "ways-in-confirm")
    phone.get_by_role("button", name="Confirm my number").click()

    # Then the number is confirmed
    expect(phone.get_by_role("heading", name="Your number is confirmed.")).to_be_visible()

    # And the link, opened again, says it was used
    phone.goto(link)
    expect(phone.get_by_role("heading", name="This link has already been used")).to_be_visible()

    # And the password they chose at sign-up signs in
    assert signs_in(phone, site, "0241300002", SIGNUP_FORM["password"])


def test_a_customer_who_forgot_their_password_chooses_a_new_one(phone, site, texts):
    expect = sync_api.expect
    # Given a customer who asks for a reset from the SPA's Forgot password page
    CustomerFactory(phone="+233241300003", password="Forgotten-long-ago-3")
    answer = spa_post(phone, site, "/api/auth/phone/forgot-password/", {"phone": "0241300003"})
    assert answer.status == 200
    link = texted_link(texts, "+233241300003", site)

    # When they open the link and try a weak password
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Choose a new password")).to_be_visible()
    choose_password(phone, "password1", "Save my new password")

    # Then the page says why, beside the field, and keeps the link usable
    errors = phone.locator("#id_new_password2-errors")
    expect(errors).to_contain_text("This password is too common.")
    expect(phone.get_by_label("New password again")).to_have_attribute("aria-invalid", "true")
    shot(phone, "ways-in-weak-password")

    # And a good one is saved: the old password stops working, the new one signs in
    choose_password(phone, NEW_PASSWORD, "Save my new password")
    expect(phone.get_by_role("heading", name="Your new password is set.")).to_be_visible()
    assert signs_in(phone, site, "0241300003", NEW_PASSWORD)
    assert not signs_in(phone, site, "0241300003", "Forgotten-long-ago-3")


def test_an_expired_link_gets_a_clear_page(phone, site, texts):
    expect = sync_api.expect
    # Given a reset link texted more than SIGN_IN_LINK_RESET_MINUTES ago
    customer = CustomerFactory(phone="+233241300004", password="Still-mine-44")
    spa_post(phone, site, "/api/auth/phone/forgot-password/", {"phone": "0241300004"})
    link = texted_link(texts, "+233241300004", site)
    SignInLink.objects.filter(user=customer).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )

    # When it is opened
    phone.goto(link)

    # Then the page says it expired and how to get a new one, and offers no form
    expect(phone.get_by_role("heading", name="This link has expired")).to_be_visible()
    expect(phone.get_by_text("Forgot password")).to_be_visible()
    assert phone.locator("input").count() == 0
    shot(phone, "ways-in-expired")
    assert signs_in(phone, site, "0241300004", "Still-mine-44")
