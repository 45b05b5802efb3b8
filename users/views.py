"""Auth and customer endpoints: parse, call one service or selector, shape the answer."""

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView as _TokenRefreshView

from users import password_reset, selectors, serializers, services
from users.exceptions import ApplicationError
from users.pagination import PageNumberPagination
from users.permissions import IsAuthenticatedUser
from users.selectors import CustomerFilter
from users.throttles import (
    LoginFailureLock,
    LoginRateThrottle,
    PasswordResetRateThrottle,
    client_ident,
)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error envelope under the given statuses."""
    return {code: OpenApiResponse(serializers.ErrorSerializer) for code in codes}


STAFF_ERRORS = error_responses(401, 403)


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
        responses={200: serializers.MessageSerializer, **error_responses(400, 401)},
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
        responses={200: serializers.MessageSerializer, **error_responses(400, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.PasswordResetRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset.password_reset_request(phone=data.validated_data["phone"])
        return Response({"success": True, "message": password_reset.REQUEST_MESSAGE})


class PasswordResetConfirmView(APIView):
    authentication_classes = []
    permission_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=serializers.PasswordResetConfirmSerializer,
        responses={200: serializers.MessageSerializer, **error_responses(400, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset.password_reset_confirm(**data.validated_data)
        return Response({"success": True, "message": "Password set. You can sign in now."})


class MeView(APIView):
    permission_classes = [IsAuthenticatedUser]

    @extend_schema(
        responses={200: serializers.UserOutputSerializer, **error_responses(401)}, tags=["auth"]
    )
    def get(self, request):
        return Response(serializers.UserOutputSerializer(request.user).data)


class CustomerListCreateView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
            OpenApiParameter(
                "search", str, description="Name, phone (any format), email or shipping mark."
            ),
        ],
        filters=True,
        responses={
            200: serializers.CustomerOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
        tags=["customers"],
    )
    def get(self, request):
        customers = selectors.customer_list(filters=request.query_params)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(customers, request, view=self)
        data = serializers.CustomerOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=serializers.CustomerInputSerializer,
        responses={201: serializers.CustomerOutputSerializer, **error_responses(400, 401, 403)},
        tags=["customers"],
    )
    def post(self, request):
        data = serializers.CustomerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_create(created_by=request.user, data=data.validated_data)
        return Response(
            serializers.CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED
        )

    # Read by drf-spectacular to document the filters and the paginated answer; the selector
    # and get() apply them.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    pagination_class = PageNumberPagination

    def get_queryset(self):
        return selectors.customers()


class CustomerDetailView(APIView):
    def _customer(self, customer_id: int):
        customer = selectors.customer_get(customer_id=customer_id)
        if customer is None:
            raise Http404
        return customer

    @extend_schema(
        responses={200: serializers.CustomerOutputSerializer, **error_responses(401, 403, 404)},
        tags=["customers"],
    )
    def get(self, request, customer_id: int):
        return Response(serializers.CustomerOutputSerializer(self._customer(customer_id)).data)

    @extend_schema(
        request=serializers.CustomerInputSerializer,
        responses={
            200: serializers.CustomerOutputSerializer,
            **error_responses(400, 401, 403, 404),
        },
        tags=["customers"],
    )
    def patch(self, request, customer_id: int):
        customer = self._customer(customer_id)
        data = serializers.CustomerInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = services.customer_update(customer=customer, data=data.validated_data)
        return Response(serializers.CustomerOutputSerializer(customer).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)}, tags=["customers"])
    def delete(self, request, customer_id: int):
        services.customer_delete(customer=self._customer(customer_id), deleted_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
