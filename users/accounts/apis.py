"""Auth endpoints: sign in, refresh, sign out, password reset, the caller's profile."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView as _TokenRefreshView

from users.accounts import reset, serializers, services
from users.accounts.throttles import (
    LoginFailureLock,
    LoginRateThrottle,
    PasswordResetRateThrottle,
    client_ident,
)
from users.api.errors import ApplicationError
from users.api.permissions import IsAuthenticatedUser
from users.api.schema import MessageSerializer, error_responses


class LoginView(APIView):
    authentication_classes = []
    permission_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=serializers.LoginInputSerializer,
        responses={200: serializers.LoginOutputSerializer, **error_responses(400, 401, 403, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identifier = data.validated_data["identifier"]
        lock = LoginFailureLock(client=client_ident(request), identifier=identifier)
        if (wait := lock.wait()) is not None:
            raise Throttled(wait=wait)
        try:
            user = services.auth_login(
                identifier=identifier, password=data.validated_data["password"]
            )
        except ApplicationError as error:
            if error.status_code == status.HTTP_401_UNAUTHORIZED:
                lock.record_failure()
            raise
        lock.reset()
        body = {
            "success": True,
            "message": "Signed in.",
            "user": serializers.UserOutputSerializer(user).data,
            "tokens": services.auth_tokens_issue(user=user),
        }
        return Response(body)


class TokenRefreshView(_TokenRefreshView):
    """Exchanges a refresh token for a new access token and a new refresh token (the old one is
    blacklisted)."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(tags=["auth"], responses={200: None, **error_responses(400, 401, 429)})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    authentication_classes = []
    permission_classes = []

    @extend_schema(
        request=serializers.RefreshInputSerializer,
        responses={200: MessageSerializer, **error_responses(400, 401)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.auth_logout(refresh=data.validated_data["refresh"])
        return Response({"success": True, "message": "Signed out."})


class PasswordResetView(APIView):
    """Texts a PIN to the account's phone. The answer is the same whether or not it exists."""

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
        reset.password_reset_request(phone=data.validated_data["phone"])
        return Response({"success": True, "message": reset.REQUEST_MESSAGE})


class PasswordResetConfirmView(APIView):
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
    permission_classes = [IsAuthenticatedUser]

    @extend_schema(
        responses={200: serializers.UserOutputSerializer, **error_responses(401)}, tags=["auth"]
    )
    def get(self, request):
        return Response(serializers.UserOutputSerializer(request.user).data)
