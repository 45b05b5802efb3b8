"""The public self-service endpoints the SPA's signed-out pages call (SPA-CONTRACT.md 4.7-4.10):
sign-up with a shipping mark, the legacy PIN sign-up and phone verification, forgot password,
and the account-claim page.

None reads the Authorization header (the SPA attaches a stale Bearer whenever it has one, and
these must not answer it with a 401); each is rate-limited per client address and, when the body
names one, per phone number. Their errors carry `error` beside the envelope's `code`, because the
pages read `error`: the code on the sign-up page (it compares it with "shipping_mark_taken"), the
sentence on the claim page (it shows it)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from primepre.body_limit import BodyLimit
from users.accounts import claim, rate_limits, signup, tasks, verification
from users.accounts.apis import signed_in_response
from users.customers.serializers import UserSerializer
from users.errors import VALIDATION_ERROR, ApplicationError
from users.web.schema import MessageSerializer, error_responses
from users.web.throttling import FirstRefusalThrottling

TAGS = ["sign-up"]


def _text(max_length: int = 254) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=max_length, default=""
    )


def _password() -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=256, trim_whitespace=False, default=""
    )


class _PublicView(FirstRefusalThrottling, APIView):
    authentication_classes = []
    permission_classes = []
    body_limit = BodyLimit.SMALL
    # What `error` holds in an error answer: the code, or the sentence to show.
    error_holds = "code"

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        body = response.data
        if isinstance(body, dict) and body.get("success") is False:
            if body.get("code") == VALIDATION_ERROR:
                # The pages show `message`, not `detail`: make it the fields' sentence.
                body["message"] = body["detail"]
            body["error"] = body["code"] if self.error_holds == "code" else body["detail"]
        return response


class MarkSuggestionInputSerializer(serializers.Serializer):
    first_name = _text()
    last_name = _text()
    region = _text()
    email = _text()
    company_name = _text()
    nickname = _text()


class MarkSuggestionOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    suggestions = serializers.ListField(child=serializers.CharField())


class GenerateShippingMarksView(_PublicView):
    throttle_classes = [rate_limits.ShippingMarksRateThrottle]

    @extend_schema(
        request=MarkSuggestionInputSerializer,
        responses={200: MarkSuggestionOutputSerializer, **error_responses(400, 429)},
        tags=TAGS,
    )
    def post(self, request):
        data = MarkSuggestionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        suggestions = signup.shipping_mark_suggestions(
            first_name=values["first_name"] or "",
            last_name=values["last_name"] or "",
            nickname=values["nickname"] or "",
            region=values["region"] or "",
        )
        return Response(
            {
                "success": True,
                "message": f"{len(suggestions)} free shipping marks.",
                "suggestions": suggestions,
            }
        )


class SignupInputSerializer(MarkSuggestionInputSerializer):
    phone = _text(64)
    user_type = _text(32)
    shipping_mark = _text(200)
    password = _password()
    confirm_password = _password()


class SignupOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField(help_text="`{user}`: what was sent, as stored; no id, no tokens.")


class SignupWithShippingMarkView(_PublicView):
    throttle_classes = [rate_limits.SignupRateThrottle, rate_limits.SignupPhoneRateThrottle]

    @extend_schema(
        request=SignupInputSerializer,
        responses={202: SignupOutputSerializer, **error_responses(400, 409, 429)},
        tags=TAGS,
        description="The same 202 for new details and for a phone or email already "
        "registered. The account is unverified and gets no tokens: a PIN is texted to it.",
    )
    def post(self, request):
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {key: value or "" for key, value in data.validated_data.items()}
        password = values.pop("password")
        confirm = values.pop("confirm_password")
        answer = signup.customer_signup(data=values, password=password, confirm_password=confirm)
        body = {"success": True, "message": signup.SIGNUP_MESSAGE, "data": {"user": answer.user}}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class LegacySignupInputSerializer(serializers.Serializer):
    name = _text(101)
    company_name = _text()
    shipping_mark = _text(200)
    phone = _text(64)
    region = _text(64)
    password = _password()


class LegacySignupView(_PublicView):
    throttle_classes = [rate_limits.SignupRateThrottle, rate_limits.SignupPhoneRateThrottle]

    @extend_schema(
        request=LegacySignupInputSerializer,
        responses={202: MessageSerializer, **error_responses(400, 429)},
        tags=TAGS,
        description="The legacy PIN sign-up: the sent shipping mark is not used (the page "
        "always sends PP), one is generated. The same 202 whatever is registered.",
    )
    def post(self, request):
        data = LegacySignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {key: value or "" for key, value in data.validated_data.items()}
        fields = signup.legacy_signup_fields(
            name=values["name"],
            company_name=values["company_name"],
            phone=values["phone"],
            region=values["region"],
        )
        signup.customer_signup(
            data=fields, password=values["password"], confirm_password=None, mark_required=False
        )
        body = {"success": True, "message": signup.SIGNUP_MESSAGE, "verification_sent": True}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PhoneInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=64)


class VerifyPhoneInputSerializer(PhoneInputSerializer):
    pin = serializers.CharField(max_length=12)


class VerifyPhoneOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    user = UserSerializer()
    tokens = serializers.DictField(child=serializers.CharField())


class VerifyPhoneView(_PublicView):
    throttle_classes = [
        rate_limits.VerifyPhoneRateThrottle,
        rate_limits.VerifyPhonePhoneRateThrottle,
    ]

    @extend_schema(
        request=VerifyPhoneInputSerializer,
        responses={200: VerifyPhoneOutputSerializer, **error_responses(400, 429)},
        tags=TAGS,
    )
    def post(self, request):
        data = VerifyPhoneInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = verification.phone_verify(**data.validated_data)
        return signed_in_response(user, message="Your phone number is verified.")


class _PhoneOnlyView(_PublicView):
    """A page that sends a phone only and gets the same 200 for every phone: `act` does the
    work (or nothing), `answer` is the message."""

    answer = ""

    def act(self, phone: str) -> None:
        raise NotImplementedError

    @extend_schema(
        request=PhoneInputSerializer,
        responses={200: MessageSerializer, **error_responses(400, 429)},
        tags=TAGS,
    )
    def post(self, request):
        data = PhoneInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.act(data.validated_data["phone"])
        return Response({"success": True, "message": self.answer})


class ResendVerificationView(_PhoneOnlyView):
    """The same 200 for every phone. An unverified account is texted a new verification PIN
    (the old one ends), at most one a minute and PHONE_VERIFICATION_MAX_PER_HOUR an hour."""

    throttle_classes = [
        rate_limits.ResendVerificationRateThrottle,
        rate_limits.ResendVerificationPhoneRateThrottle,
    ]
    answer = verification.RESEND_MESSAGE

    def act(self, phone: str) -> None:
        tasks.verification_pin_resend_request(phone=phone)


FORGOT_ANSWER = (
    "If this phone number has an account, a text message with a link to choose a new password "
    "is on its way."
)


class ForgotPasswordView(_PhoneOnlyView):
    """The same 200 for every phone; nothing changes. The account's holder, if there is one,
    is texted a link to choose a new password (users.accounts.pages)."""

    throttle_classes = [
        rate_limits.ForgotPasswordRateThrottle,
        rate_limits.ForgotPasswordPhoneRateThrottle,
    ]
    answer = FORGOT_ANSWER

    def act(self, phone: str) -> None:
        tasks.password_reset_link_request(phone=phone)


class ShippingMarkListOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    shipping_marks = serializers.ListField(child=serializers.CharField())
    total = serializers.IntegerField()


class ShippingMarkListView(_PublicView):
    throttle_classes = [rate_limits.ClaimRateThrottle]

    @extend_schema(
        responses={200: ShippingMarkListOutputSerializer, **error_responses(429)}, tags=TAGS
    )
    def get(self, request):
        body = {"success": True, "message": claim.MARKS_MESSAGE, "shipping_marks": [], "total": 0}
        return Response(body)


class ClaimView(_PublicView):
    """Both steps of the claim page: refused, saying the way in that works (users.accounts.claim).
    Nothing is read or changed."""

    error_holds = "detail"
    throttle_classes = [rate_limits.ClaimRateThrottle, rate_limits.ClaimPhoneRateThrottle]

    @extend_schema(request=None, responses=error_responses(403, 429), tags=TAGS)
    def post(self, request):
        raise ApplicationError(
            claim.CLAIM_UNAVAILABLE, claim.CLAIM_MESSAGE, status_code=status.HTTP_403_FORBIDDEN
        )
