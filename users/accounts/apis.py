"""Auth endpoints: sign in, refresh, sign out, password reset, the caller's profile and
password."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView as _TokenRefreshView

from primepre.body_limit import BodyLimit
from users.accounts import reset, serializers, services, tasks
from users.accounts.rate_limits import (
    LoginFailureLock,
    LoginRateThrottle,
    PasswordResetRateThrottle,
)
from users.customers.serializers import UserSerializer
from users.errors import INVALID_CREDENTIALS, ApplicationError
from users.models import User
from users.web.permissions import IsAuthenticatedUser
from users.web.schema import MessageSerializer, error_responses
from users.web.throttling import AtomicScopedRateThrottle


def signed_in_response(user: User, *, message: str) -> Response:
    """The answer of every way that signs an account in (the login, the phone's verification):
    the account as the SPA stores it and a fresh pair of tokens."""
    body = {
        "success": True,
        "message": message,
        "user": UserSerializer(user).data,
        "tokens": services.auth_tokens_issue(user=user),
    }
    return Response(body)


class LoginView(APIView):
    body_limit = BodyLimit.SMALL
    authentication_classes = []
    permission_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=serializers.LoginInputSerializer,
        responses={200: serializers.LoginOutputSerializer, **error_responses(400, 403, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identifier = data.validated_data["identifier"]
        lock = LoginFailureLock(identifier=identifier)
        if not lock.reserve():
            raise Throttled(wait=lock.wait())
        try:
            user = services.auth_login(
                identifier=identifier, password=data.validated_data["password"]
            )
        except ApplicationError as error:
            if error.code != INVALID_CREDENTIALS:
                lock.reset()  # the password was right (the account is refused for another reason)
            raise
        lock.reset()
        return signed_in_response(user, message="Signed in.")


class TokenRefreshView(_TokenRefreshView):
    """A new access token for a refresh token, authenticated by the body alone: an expired
    Bearer header (the SPA's timer sends one) is not read. The refresh token stays valid for its
    lifetime; with JWT_ROTATE_REFRESH_TOKENS a new one comes back and the old one is
    blacklisted."""

    body_limit = BodyLimit.SMALL
    authentication_classes = []
    permission_classes = []
    throttle_classes = [LoginRateThrottle]
    serializer_class = serializers.RefreshSerializer

    @extend_schema(
        tags=["auth"],
        request=serializers.RefreshInputSerializer,
        responses={200: serializers.RefreshOutputSerializer, **error_responses(400, 401, 429)},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    body_limit = BodyLimit.SMALL
    authentication_classes = []
    permission_classes = []

    @extend_schema(
        request=serializers.RefreshInputSerializer,
        responses={200: MessageSerializer, **error_responses(400)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.auth_logout(refresh=data.validated_data["refresh"])
        return Response({"success": True, "message": "Signed out."})


class PasswordResetView(APIView):
    """Texts a PIN to the account's phone. The answer is the same whether or not it exists."""

    body_limit = BodyLimit.SMALL
    authentication_classes = []
    permission_classes = []
    throttle_classes = [PasswordResetRateThrottle]

    @extend_schema(
        request=serializers.PasswordResetRequestSerializer,
        responses={200: MessageSerializer, **error_responses(400, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.PasswordResetRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tasks.password_reset_request(phone=data.validated_data["phone"])
        return Response({"success": True, "message": reset.REQUEST_MESSAGE})


class PasswordResetConfirmView(APIView):
    body_limit = BodyLimit.SMALL
    authentication_classes = []
    permission_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=serializers.PasswordResetConfirmSerializer,
        responses={200: MessageSerializer, **error_responses(400, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reset.password_reset_confirm(**data.validated_data)
        return Response({"success": True, "message": "Password set. You can sign in now."})


class MeView(APIView):
    body_limit = BodyLimit.SMALL
    permission_classes = [IsAuthenticatedUser]

    @extend_schema(responses={200: UserSerializer, **error_responses(401)}, tags=["auth"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class ProfileView(APIView):
    """The caller's own profile (any signed-in user): the SPA reads it on every page load."""

    body_limit = BodyLimit.SMALL
    permission_classes = [IsAuthenticatedUser]

    @extend_schema(responses={200: UserSerializer, **error_responses(401)}, tags=["auth"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=serializers.ProfileInputSerializer,
        responses={200: UserSerializer, **error_responses(400, 401)},
        tags=["auth"],
        description="Names, company, email, region and user type. The phone, shipping mark, "
        "role and verified flag may be sent unchanged; a change to one is 400 `read_only`.",
    )
    def put(self, request):
        data = serializers.ProfileInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.profile_update(user=request.user, data=data.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=serializers.ProfileInputSerializer,
        responses={200: UserSerializer, **error_responses(400, 401)},
        tags=["auth"],
        description="The same as PUT.",
    )
    def patch(self, request):
        return self.put(request)


class PasswordChangeView(APIView):
    """The caller's own new password. A wrong current password is 400, never 401."""

    body_limit = BodyLimit.SMALL
    permission_classes = [IsAuthenticatedUser]
    throttle_classes = [AtomicScopedRateThrottle]
    throttle_scope = "password_change"

    @extend_schema(
        request=serializers.PasswordChangeInputSerializer,
        responses={200: MessageSerializer, **error_responses(400, 401, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_change(user=request.user, **data.validated_data)
        minutes = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() // 60
        message = (
            f"Password changed. Your sessions end within {minutes:.0f} minutes: sign in again "
            "with the new password."
        )
        return Response({"success": True, "message": message})
