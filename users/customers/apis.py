"""User endpoints, one implementation behind two URL sets (users.customers.urls): the customer
API (/api/auth/customers/, customers only) and the SPA's user management
(/api/auth/admin/users/, every user the caller may see). Each view parses, calls one service
or selector, and shapes the answer; who may do what is users.customers.roles, in the services.
Then the export."""

from django.conf import settings
from django.http import Http404, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from users.customers import export, selectors, serializers, services
from users.customers.selectors import CustomerFilter, Scope
from users.excel.writing import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from users.models import CustomerChange, User
from users.web.compression import compressed
from users.web.errors import invalid_choice
from users.web.pagination import MAX_PAGE_SIZE, PAGE, PAGE_SIZE, PageNumberPagination
from users.web.schema import MessageSerializer, error_responses
from users.web.throttling import AtomicScopedRateThrottle

TAGS = ["users"]
SEARCH = OpenApiParameter(
    "search",
    # Django's form field refuses a NUL (null_characters_not_allowed).
    {"type": "string", "maxLength": selectors.SEARCH_MAX, "pattern": "^[^\\u0000]*$"},
    description="Name, phone (any format), email or shipping mark.",
)


def _user_json(request, user: User) -> dict:
    """A user as staff read it: its creator only if they may see them."""
    return serializers.UserSerializer(user, context={"viewer": request.user}).data


class _ScopedView(APIView):
    """A view over the users of `scope` (given to as_view by the URL set) the caller may see."""

    scope = Scope.USERS

    def target(self, user_id: int):
        user = selectors.user_get(actor=self.request.user, scope=self.scope, user_id=user_id)
        if user is None:
            raise Http404
        return user


@compressed
class UserListCreateView(_ScopedView):
    @extend_schema(
        parameters=[
            OpenApiParameter("page", PAGE),
            OpenApiParameter(
                "page_size",
                PAGE_SIZE,
                description=f"At most {MAX_PAGE_SIZE:,}; a larger one is read as that.",
            ),
            SEARCH,
        ],
        filters=True,
        responses={
            200: serializers.UserSerializer(many=True),
            **error_responses(400, 401, 403),
        },
        tags=TAGS,
    )
    def get(self, request):
        users = selectors.user_list(
            actor=request.user, scope=self.scope, filters=request.query_params
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(users.values(*serializers.USER_VALUES), request)
        shown = selectors.visible_ids(
            actor=request.user, ids=page.values_list("created_by_id", flat=True)
        )
        rows = (
            serializers.user_json(row, shown_creators=shown)
            for row in page.iterator(chunk_size=1000)
        )
        return paginator.json_response(rows)

    @extend_schema(
        request=serializers.UserInputSerializer,
        responses={201: serializers.UserSerializer, **error_responses(400, 401, 403)},
        tags=TAGS,
    )
    def post(self, request):
        data = serializers.UserInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create_by(actor=request.user, data=data.validated_data)
        return Response(_user_json(request, user), status=status.HTTP_201_CREATED)

    # Read by drf-spectacular to document the filters and the paginated answer; the selector
    # and get() apply them.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    pagination_class = PageNumberPagination

    def get_queryset(self):
        return selectors.customers()


class UserRegisterView(_ScopedView):
    """POST register/: the SPA's New Client sends here when the signed-in user's
    `is_admin_user` is false (SPA-CONTRACT.md 4.3, path B). The same staff-only create as
    POST admin/users/, never public: self sign-up is signup/with-shipping-mark/."""

    post = UserListCreateView.post


class UserDetailView(_ScopedView):
    @extend_schema(
        responses={200: serializers.UserSerializer, **error_responses(401, 403, 404)}, tags=TAGS
    )
    def get(self, request, user_id: int):
        return Response(_user_json(request, self.target(user_id)))

    def _update(self, request, user_id: int, *, partial: bool):
        user = self.target(user_id)
        data = serializers.UserEditInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        user = services.user_update_by(
            actor=request.user, user=user, data=data.validated_data, partial=partial
        )
        return Response(_user_json(request, user))

    @extend_schema(
        request=serializers.UserEditInputSerializer,
        responses={200: serializers.UserSerializer, **error_responses(400, 401, 403, 404)},
        tags=TAGS,
    )
    def patch(self, request, user_id: int):
        return self._update(request, user_id, partial=True)

    @extend_schema(
        request=serializers.UserEditInputSerializer,
        responses={200: serializers.UserSerializer, **error_responses(400, 401, 403, 404)},
        tags=TAGS,
        description="A whole edit: phone, first_name, last_name and shipping_mark are required, "
        "and a field left out takes its blank value (a region and a user type their default).",
    )
    def put(self, request, user_id: int):
        return self._update(request, user_id, partial=False)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)}, tags=TAGS)
    def delete(self, request, user_id: int):
        services.user_delete(actor=request.user, user=self.target(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserToggleActiveView(_ScopedView):
    @extend_schema(
        request=None,
        responses={200: serializers.UserActionOutputSerializer, **error_responses(401, 403, 404)},
        tags=TAGS,
    )
    def post(self, request, user_id: int):
        user = services.user_toggle_active(actor=request.user, user=self.target(user_id))
        name = user.get_full_name()
        message = (
            f"{name} is active again and can sign in."
            if user.is_active
            else f"{name} is blocked and can no longer sign in."
        )
        body = {"success": True, "message": message, "user": _user_json(request, user)}
        return Response(body)


class UserPasswordResetView(_ScopedView):
    @extend_schema(
        request=serializers.PasswordResetInputSerializer,
        responses={
            200: serializers.PasswordResetOutputSerializer,
            **error_responses(400, 401, 403, 404),
        },
        tags=TAGS,
    )
    def post(self, request, user_id: int):
        user = self.target(user_id)
        data = serializers.PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.user_password_reset(
            actor=request.user,
            user=user,
            password=data.validated_data["new_password"],
            confirm=data.validated_data.get("confirm_password"),
        )
        message = (
            f"Password reset for {user.get_full_name()}. It is temporary: it signs in for "
            f"{settings.TEMPORARY_PASSWORD_HOURS} hours, until they choose their own. Their "
            "sessions have ended."
        )
        body = {"success": True, "message": message, "password_expires_at": record.expires_at}
        return Response(serializers.PasswordResetOutputSerializer(body).data)


class UserMessageView(_ScopedView):
    throttle_classes = [AtomicScopedRateThrottle]
    throttle_scope = "send_message"

    @extend_schema(
        request=serializers.MessageInputSerializer,
        responses={200: MessageSerializer, **error_responses(400, 401, 403, 404, 429, 502, 503)},
        tags=TAGS,
        description="Texts `subject` and `message` to the user's phone (SEND_MESSAGE_RATE per "
        "admin); 503 `sms_not_configured` when SMS_BACKEND is disabled.",
    )
    def post(self, request, user_id: int):
        user = self.target(user_id)
        data = serializers.MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_message_send(actor=request.user, user=user, **data.validated_data)
        return Response({"success": True, "message": f"Message sent to {user.get_full_name()}."})


class UserStatisticsView(_ScopedView):
    @extend_schema(
        responses={200: serializers.UserStatisticsSerializer, **error_responses(401, 403)},
        tags=TAGS,
    )
    def get(self, request):
        return Response(selectors.user_statistics(actor=request.user, scope=self.scope))


UNKNOWN_FORMAT = "Unknown export format."


class FileFormatNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the file to download, not one of DRF's renderers (its
    URL_FORMAT_OVERRIDE), and answers that are not the file are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=[*export.FORMATS, ""],
                default=export.XLSX,
                description="Blank: xlsx.",
            ),
            SEARCH,
        ],
        filters=True,
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="Every customer matching the filters"
            ),
            (200, CSV_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The same as CSV (UTF-8 with a BOM)"
            ),
            **error_responses(400, 401, 403),
        },
        tags=["customers"],
    )
    def get(self, request):
        file_format = request.query_params.get("format") or export.XLSX
        if file_format not in export.FORMATS:
            raise invalid_choice("format", export.FORMATS, UNKNOWN_FORMAT)
        filename = export.export_filename(file_format)
        if file_format == export.XLSX:
            pieces = export.customers_export_xlsx_stream(
                actor=request.user, filters=request.query_params
            )
            response = StreamingHttpResponse(pieces, content_type=XLSX_CONTENT_TYPE)
        else:
            lines = export.customers_export_csv(actor=request.user, filters=request.query_params)
            response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response

    # Read by drf-spectacular to document the filters; the selector applies them.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter

    def get_queryset(self):
        return selectors.customers()


class UserHistoryView(_ScopedView):
    """The changes of one user's fields (imports, their undos, edits), newest first, paged."""

    pagination_class = PageNumberPagination

    @extend_schema(
        parameters=[OpenApiParameter("page", PAGE), OpenApiParameter("page_size", PAGE_SIZE)],
        responses={
            200: serializers.CustomerChangeSerializer(many=True),
            **error_responses(401, 403, 404),
        },
        tags=TAGS,
    )
    def get(self, request, user_id: int):
        user = self.target(user_id)
        paginator = self.pagination_class()
        changes = CustomerChange.objects.filter(customer=user).annotate(
            shown_changed_by=selectors.shown_user(actor=request.user, column="changed_by_id")
        )
        page = paginator.paginate_queryset(changes.order_by("-changed_at", "-id"), request)
        return paginator.get_paginated_response(
            serializers.CustomerChangeSerializer(page, many=True).data
        )
