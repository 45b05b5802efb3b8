"""Sign-in links from the admin: the customer list's action "Send sign-in links" (texted by the
task worker, users.messaging.invites) and, on an account's page, a link made to pass on by hand
(users.customers.services.user_sign_in_link_make), shown once."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.views import View

from users.customers import services
from users.errors import ApplicationError
from users.messaging import sms
from users.messaging.tasks import invites_queue


@admin.action(description="Send sign-in links")
def send_sign_in_links(model_admin, request: HttpRequest, queryset) -> None:
    """Queues an invite text for each selected customer who has never had a password of their
    own and was not texted one within INVITE_RESEND_HOURS; says how many of each."""
    if not sms.sms_configured():
        model_admin.message_user(
            request,
            "Text messages are not set up on this server (SMS_BACKEND is disabled), so nothing "
            "was sent. Open a customer's page to make a sign-in link to pass on by hand.",
            messages.ERROR,
        )
        return
    queued = invites_queue(customers=queryset, created_by=request.user)
    level = messages.SUCCESS if queued.queued else messages.WARNING
    model_admin.message_user(
        request,
        f"Sign-in links queued for {queued.queued} customers; they are texted in the "
        f"background. Skipped {queued.skipped}: they have a password of their own, have "
        f"signed in, or were texted a link within the last {settings.INVITE_RESEND_HOURS} hours.",
        level,
    )


class SignInLinkView(View):
    """GET: what the button does, and the button (a GET changes nothing). POST: makes the link
    and shows it, this once (never cached; it is not stored anywhere it could be shown again)."""

    model_admin = None
    template = "admin/users/sign_in_link.html"

    def dispatch(self, request: HttpRequest, object_id: str) -> HttpResponse:
        account = self.model_admin.get_object(request, object_id)
        if account is None:
            raise Http404("No such account.")
        if not self.model_admin.has_view_permission(request, account):
            raise PermissionDenied
        return super().dispatch(request, account)

    def get(self, request: HttpRequest, account) -> HttpResponse:
        return self.render(request, account)

    def post(self, request: HttpRequest, account) -> HttpResponse:
        try:
            url = services.user_sign_in_link_make(actor=request.user, user=account)
        except ApplicationError as error:
            return self.render(request, account, error=error.message, status=error.status_code)
        response = self.render(request, account, url=url)
        add_never_cache_headers(response)
        return response

    def render(self, request: HttpRequest, account, status: int = 200, **context) -> HttpResponse:
        opts = self.model_admin.model._meta
        return TemplateResponse(
            request,
            self.template,
            {
                **self.model_admin.admin_site.each_context(request),
                "opts": opts,
                "original": account,
                "title": "Sign-in link",
                "sms_on": sms.sms_configured(),
                "usable_password": account.has_usable_password(),
                "invite_days": settings.SIGN_IN_LINK_INVITE_DAYS,
                "reset_minutes": settings.SIGN_IN_LINK_RESET_MINUTES,
                **context,
            },
            status=status,
        )
