"""The SPA's ApiClient (SPA-CONTRACT.md sections 0 and 2), over Django's test client, so that
tests replay its requests as it sends them and read its answers as it reads them.

- Every request carries `Content-Type: application/json`, GET and DELETE included, and
  `Authorization: Bearer <access_token>` when that token is stored.
- On any 401 it POSTs the stored refresh token to token/refresh/ (no Authorization header),
  stores only `access` from the answer, and retries the request once; when that refresh fails,
  or no refresh token is stored, it signs out (handleLogout: both tokens removed).
- It never raises: each call returns SpaResult(success, data, message), `message` built from
  the error body as the SPA builds it (a string `detail` as it is, otherwise "key: value | ...").
- Its timer refreshes through the same client, so with the current (maybe expired) Bearer.
"""

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.test import Client

LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"
PROFILE = "/api/auth/profile/"
PASSWORD_CHANGE = "/api/auth/password-change/"
USERS = "/api/auth/admin/users/"
STATISTICS = "/api/auth/admin/users/statistics/"


# NewClientDialog's body (path A, SPA-CONTRACT.md 4.3), with the password it hard-codes.
NEW_CLIENT = {
    "first_name": "Kwame",
    "last_name": "Mensah",
    "company_name": "",
    "email": "",
    "phone": "024 123 4567",
    "region": "GREATER_ACCRA",
    "shipping_mark": "pm Gold 7",
    "user_role": "CUSTOMER",
    "user_type": "INDIVIDUAL",
    "accessible_warehouses": [],
    "can_create_users": False,
    "can_manage_inventory": False,
    "can_view_analytics": False,
    "can_manage_admins": False,
    "password": "PrimeMade1",
    "confirm_password": "PrimeMade1",
}


def edit_client_body(user, **changes) -> dict:
    """EditClientDialog's PATCH body: always all 12 fields, from the row it edits."""
    body = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "nickname": user.nickname,
        "email": user.email or "",
        "phone": user.phone,
        "company_name": user.company_name,
        "shipping_mark": user.shipping_mark,
        "region": user.region,
        "user_type": user.user_type,
        "user_role": user.user_role,
        "is_active": user.is_active,
        "is_verified": user.is_verified,
    }
    return {**body, **changes}


def user_url(user_id: int, action: str = "") -> str:
    return f"{USERS}{user_id}/" + (f"{action}/" if action else "")


def query(**params) -> str:
    """A query string as the SPA builds one: keys in the order given, None skipped, booleans
    as true/false."""
    pairs = [
        (key, str(value).lower() if isinstance(value, bool) else str(value))
        for key, value in params.items()
        if value is not None
    ]
    return "?" + urlencode(pairs)


@dataclass
class SpaResult:
    success: bool
    data: object
    message: str
    status: int


def spa_message(status: int, body: object) -> str:
    """ApiClient's error message (SPA-CONTRACT.md 2.2)."""
    if not isinstance(body, dict) or not body:
        return f"HTTP error! status: {status}"
    if isinstance(body.get("detail"), str):
        return body["detail"]
    parts = []
    for key, value in body.items():
        if isinstance(value, bool | int | float):
            continue
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            value = json.dumps(value)
        parts.append(f"{key}: {value}")
    return " | ".join(parts)


@dataclass
class Spa:
    client: Client = field(default_factory=Client)
    storage: dict = field(default_factory=dict)  # localStorage
    signed_out: bool = False
    # (method, path, headers) of every request, the headers as the server received them.
    sent: list = field(default_factory=list)

    def _send(self, method: str, path: str, body, headers: dict):
        response = self.client.generic(
            method,
            path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers=headers,
            # Django's client sets the type only with a body; the SPA sends it on every call.
            CONTENT_TYPE="application/json",
        )
        meta = response.wsgi_request.META
        received = {"Content-Type": meta.get("CONTENT_TYPE", "")}
        if "HTTP_AUTHORIZATION" in meta:
            received["Authorization"] = meta["HTTP_AUTHORIZATION"]
        self.sent.append((method, path, received))
        return response

    def _headers(self) -> dict:
        token = self.storage.get("access_token")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body=None) -> SpaResult:
        response = self._send(method, path, body, self._headers())
        if response.status_code == 401:
            if not self._refresh_after_401():
                return self._result(response)
            response = self._send(method, path, body, self._headers())
        return self._result(response)

    def _refresh_after_401(self) -> bool:
        refresh = self.storage.get("refresh_token")
        if refresh is None:
            self.handle_logout()
            return False
        # A raw fetch: JSON content type, no Authorization header.
        response = self._send("POST", REFRESH, {"refresh": refresh}, {})
        if 200 <= response.status_code < 300:
            self.storage["access_token"] = response.json()["access"]
            return True
        self.handle_logout()
        return False

    def handle_logout(self) -> None:
        self.storage.pop("access_token", None)
        self.storage.pop("refresh_token", None)
        self.signed_out = True

    @staticmethod
    def _result(response) -> SpaResult:
        status = response.status_code
        is_json = "application/json" in response.get("Content-Type", "")
        if 200 <= status < 300:
            if status in (204, 205) or not response.content:
                data = None
            else:
                data = response.json() if is_json else response.content.decode()
            return SpaResult(True, data, "", status)
        body = response.json() if is_json and response.content else {}
        return SpaResult(False, {}, spa_message(status, body), status)

    def get(self, path: str) -> SpaResult:
        return self.request("GET", path)

    def post(self, path: str, body=None) -> SpaResult:
        return self.request("POST", path, body)

    def patch(self, path: str, body) -> SpaResult:
        return self.request("PATCH", path, body)

    def put(self, path: str, body) -> SpaResult:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> SpaResult:
        return self.request("DELETE", path)

    def login(self, phone: str, password: str) -> SpaResult:
        """Login.tsx: every auth key cleared first, so no Bearer and no refresh token."""
        self.storage.clear()
        result = self.post(LOGIN, {"phone": phone, "password": password})
        if result.success:
            self.storage["access_token"] = result.data["tokens"]["access"]
            self.storage["refresh_token"] = result.data["tokens"]["refresh"]
            self.storage["user"] = result.data["user"]
        return result

    def timer_refresh(self) -> SpaResult:
        """AuthContext's 10-minute refresh: through ApiClient, so the current Bearer goes too."""
        result = self.post(REFRESH, {"refresh": self.storage.get("refresh_token")})
        if result.success and "access" in (result.data or {}):
            self.storage["access_token"] = result.data["access"]
        return result

    def logout(self) -> SpaResult:
        """AppHeader's Logout: the result is ignored, both tokens are removed."""
        result = self.post(LOGOUT, {"refresh": self.storage.get("refresh_token")})
        self.storage.clear()
        return result


# The signed-out pages (SPA-CONTRACT.md 4.7-4.10).
GENERATE_MARKS = "/api/auth/generate-shipping-marks/"
SIGNUP_WITH_MARK = "/api/auth/signup/with-shipping-mark/"
FORGOT_PASSWORD = "/api/auth/phone/forgot-password/"
SHIPPING_MARKS = "/api/auth/shipping-marks/"
VERIFY_MARK = "/api/auth/verify/shipping-mark/"
VERIFY_MARK_CONFIRM = "/api/auth/verify/shipping-mark/confirm/"
LEGACY_SIGNUP = "/api/auth/signup/"
VERIFY_PHONE = "/api/auth/verify-phone/"
RESEND_VERIFICATION = "/api/auth/resend-verification/"
REGISTER = "/api/auth/register/"

# SimplifiedSignup's form, as ShippingMarkSelection sends it on (4.7).
SIGNUP_FORM = {
    "first_name": "Ama",
    "last_name": "Owusu",
    "nickname": "",
    "company_name": "",
    "email": "ama.owusu@example.com",
    "phone": "024 555 1234",
    "region": "ASHANTI",
    "user_type": "INDIVIDUAL",
    "password": "Kente-Loom-42",
    "confirm_password": "Kente-Loom-42",
}


def mark_request(form: dict) -> dict:
    """generate-shipping-marks/'s body, from the signup form."""
    keys = ("first_name", "last_name", "region", "email", "company_name", "nickname")
    return {key: form.get(key, "") for key in keys}


@dataclass
class FetchResult:
    """A raw fetch as ShippingMarkSelection and VerifyAccount make it: no Authorization, the
    status not checked, the JSON body parsed whatever it is."""

    status: int
    body: dict


def fetch(client: Client, method: str, path: str, body=None, **extra) -> FetchResult:
    response = client.generic(
        method,
        path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        **extra,
    )
    assert "application/json" in response["Content-Type"]
    return FetchResult(response.status_code, response.json())
