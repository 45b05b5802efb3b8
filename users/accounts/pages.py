"""The pages a sign-in link opens (users.credentials.links), served by the backend because the SPA
has none for them: set your password (an invite), confirm your number (a sign-up), choose a new
password (Forgot password). One short path serves all three; the link's purpose picks the page.

Opening a link (GET) changes nothing, since SMS apps and link previewers open links; only the
page's form (POST, with Django's CSRF check) acts. The pages are plain HTML for a phone: no
script, every input labelled, errors beside their field, and a way on to the SPA's sign-in."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View, csrf
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from users.accounts import rate_limits
from users.credentials import links
from users.credentials import services as credentials
from users.credentials.links import LinkCheck, LinkState
from users.models import SignInLink, User

PURPOSES = SignInLink.Purpose

# The error codes a page names (its `data-code`), as the API's envelope does.
LINK_INVALID = "link_invalid"
LINK_USED = "link_used"
LINK_EXPIRED = "link_expired"
THROTTLED = "throttled"
CSRF_FAILED = "csrf_failed"

HEADINGS = {
    PURPOSES.INVITE: "Set your password",
    PURPOSES.CONFIRM: "Confirm your number",
    PURPOSES.RESET: "Choose a new password",
}
DONE = {
    PURPOSES.INVITE: "Your password is set.",
    PURPOSES.CONFIRM: "Your number is confirmed.",
    PURPOSES.RESET: "Your new password is set.",
}
# What each state says, and its HTTP status.
PROBLEMS = {
    LinkState.INVALID: (
        LINK_INVALID,
        404,
        "This link no longer works",
        "A link works once, and a newer link or a new password ends it.",
    ),
    LinkState.USED: (
        LINK_USED,
        410,
        "This link has already been used",
        "A link works once.",
    ),
    LinkState.EXPIRED: (
        LINK_EXPIRED,
        410,
        "This link has expired",
        "Links last a short time, to keep your account safe.",
    ),
}


class LinkPasswordForm(SetPasswordForm):
    """Django's set-password form (a new password twice, AUTH_PASSWORD_VALIDATORS), refusing
    besides the passwords the app shares (users.credentials): this one is the holder's own."""

    new_password1, new_password2 = SetPasswordForm.create_password_fields(
        label1="New password", label2="New password again"
    )

    def validate_password_for_user(
        self,
        user: User,
        password_field_name: str = "password2",  # noqa: S107 (a field's name)
    ) -> None:
        password = self.cleaned_data.get(password_field_name)
        if password:
            problems = credentials.password_problems(password=password, user=user, own=True)
            if problems:
                self.add_error(password_field_name, forms.ValidationError(problems))


def login_url() -> str:
    """The SPA's sign-in page ("" when APP_URL is not set: the page then names no address)."""
    return f"{settings.APP_URL.rstrip('/')}/login" if settings.APP_URL else ""


def problem_page(request: HttpRequest, *, code: str, status: int, title: str, text: str):
    return render(
        request,
        "accounts/link_problem.html",
        {"code": code, "title": title, "text": text, "login_url": login_url()},
        status=status,
    )


@method_decorator([never_cache, csrf_protect], name="dispatch")
class SignInLinkPage(View):
    """GET shows the page of the link's purpose (or why it opens nothing); POST acts."""

    account_id: int | None = None

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        address = rate_limits.SignInLinkRateThrottle()
        if not address.allow_request(request, self):
            return self.throttled(request, address)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, uid: str, token: str) -> HttpResponse:
        check = links.sign_in_link_check(uid=uid, token=token)
        if check.state != LinkState.VALID:
            return self.problem(request, check)
        return self.form_page(request, check, LinkPasswordForm(check.user))

    @method_decorator(sensitive_post_parameters("new_password1", "new_password2"))
    def post(self, request: HttpRequest, uid: str, token: str) -> HttpResponse:
        check = links.sign_in_link_check(uid=uid, token=token)
        if check.state != LinkState.VALID:
            return self.problem(request, check)
        self.account_id = check.user.pk
        account = rate_limits.SignInLinkAccountRateThrottle()
        if not account.allow_request(request, self):
            return self.throttled(request, account)
        password = None
        if check.link.purpose != PURPOSES.CONFIRM:
            form = LinkPasswordForm(check.user, request.POST)
            if not form.is_valid():
                return self.form_page(request, check, form, status=400)
            password = form.cleaned_data["new_password1"]
        done = links.sign_in_link_act(uid=uid, token=token, password=password)
        if done.state != LinkState.VALID:
            return self.problem(request, done)
        context = {"title": DONE[check.link.purpose], "login_url": login_url()}
        return render(request, "accounts/link_done.html", context)

    def form_page(
        self, request: HttpRequest, check: LinkCheck, form: LinkPasswordForm, status: int = 200
    ) -> HttpResponse:
        purpose = check.link.purpose
        context = {
            "title": HEADINGS[purpose],
            "purpose": purpose,
            "form": form if purpose != PURPOSES.CONFIRM else None,
            "first_name": check.user.first_name,
            "login_url": login_url(),
        }
        return render(request, "accounts/link_form.html", context, status=status)

    def problem(self, request: HttpRequest, check: LinkCheck) -> HttpResponse:
        code, status, title, text = PROBLEMS[check.state]
        return problem_page(request, code=code, status=status, title=title, text=text)

    def throttled(self, request: HttpRequest, throttle) -> HttpResponse:
        minutes = max(1, round(throttle.wait() / 60))
        response = problem_page(
            request,
            code=THROTTLED,
            status=429,
            title="Too many tries",
            text=f"Wait {minutes} minute{'s' if minutes != 1 else ''}, then open the link again.",
        )
        response["Retry-After"] = str(round(throttle.wait()))
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused by the CSRF check: on a link's page, a page saying what to do (the
    browser kept no cookie, or the page was open too long); elsewhere Django's own."""
    if request.path.startswith("/i/"):
        return problem_page(
            request,
            code=CSRF_FAILED,
            status=403,
            title="Please try again",
            text="The form could not be checked. Open the link again from your text message "
            "and send the form once more (your browser must accept cookies for this site).",
        )
    return csrf.csrf_failure(request, reason=reason)
