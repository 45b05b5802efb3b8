"""Forms of the Django admin: sign-in by phone (staff only, with the API's rate and lock-out)
and staff accounts created and changed under the same rules as every other path."""

from contextvars import ContextVar

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AdminPasswordChangeForm, BaseUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from users.accounts.rate_limits import LoginFailureLock, LoginRateThrottle
from users.credentials import services as credentials
from users.customers import rules, services
from users.errors import VERIFICATION_REQUIRED
from users.models import EMAIL_MAX, PasswordChange, User
from users.web.permissions import UNVERIFIED_MESSAGE, is_staff

LOCKED_OUT = "Too many wrong passwords. Try again later."
THROTTLED = "Too many sign-in attempts from your address. Try again in %(wait)d seconds."


def staff_may_use_admin(request) -> bool:
    """The API's staff rule (active, verified, its temporary password not run out, staff),
    asked at every admin request."""
    return is_staff(request.user)


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in: a phone number in any accepted format (or an email), staff only,
    with the API's login limits: LOGIN_RATE per client address, and the lock-out of an account
    after repeated wrong passwords."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked_out": LOCKED_OUT,
        "throttled": THROTTLED,
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        username = self.fields["username"]
        username.label = "Phone number or email"
        username.max_length = EMAIL_MAX
        username.widget.attrs.update(maxlength=EMAIL_MAX, autocomplete="username")

    def clean(self):
        rate = LoginRateThrottle()
        if not rate.allow_request(self.request, None):
            raise ValidationError(
                self.error_messages["throttled"], code="throttled", params={"wait": rate.wait()}
            )
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()
        lock = LoginFailureLock(identifier=username)
        if not lock.reserve():
            raise ValidationError(self.error_messages["locked_out"], code="locked_out")
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) != "invalid_login":
                lock.reset()  # the password was right (the account is refused for another reason)
            raise
        lock.reset()
        return cleaned

    def confirm_login_allowed(self, user):
        # AuthenticationForm's check (active), then the project's staff rule instead of the
        # admin's is_staff.
        super(AdminAuthenticationForm, self).confirm_login_allowed(user)
        if not user.is_verified:
            raise ValidationError(UNVERIFIED_MESSAGE, code=VERIFICATION_REQUIRED)
        if not user.is_staff_member:
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


def _phone_field() -> forms.CharField:
    # Longer than the stored E.164 form: what a person types may hold spaces and a prefix.
    return forms.CharField(
        label="Phone",
        max_length=40,
        help_text="Any format: 0241234567, +233 24 123 4567 or 233241234567.",
    )


class _NormalisedProfile:
    """Cleans the customer fields a form holds with users.customers.rules, as the API and the import
    do; the model's constraints (validated by the model form) then catch case variants."""

    def clean(self):
        cleaned = super().clean()
        present = {name: cleaned[name] for name in rules.CUSTOMER_FIELDS if name in cleaned}
        values, problems = rules.clean_customer(present, partial=True)
        for problem in problems:
            self.add_error(problem.field, ValidationError(problem.message, code=problem.code))
        for name, value in values.items():
            if name in cleaned:
                cleaned[name] = value
        return cleaned


class StaffCreationForm(_NormalisedProfile, BaseUserCreationForm):
    phone = _phone_field()

    class Meta:
        model = User
        fields = ("phone", "first_name", "last_name", "email", "user_role", "is_verified")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Staff sign in with the password given here, and an unverified account cannot.
        self.fields["is_verified"].initial = True

    def save(self, commit=True, *, created_by: User | None = None) -> User:
        """Creates the user through users.customers.services.user_create (one path for every new
        user)."""
        fields = {name: self.cleaned_data[name] for name in StaffCreationForm.Meta.fields}
        self.instance = services.user_create(
            created_by=created_by, password=self.cleaned_data["password1"], **fields
        )
        self.save_m2m = lambda: None  # nothing many-to-many on this form
        return self.instance


class StaffChangeForm(_NormalisedProfile, UserChangeForm):
    phone = _phone_field()

    class Meta(UserChangeForm.Meta):
        model = User

    def save(self, commit=True) -> User:
        if "email" in self.changed_data:
            # A super admin setting the email vouches for it, as staff do through the API
            # (users.customers.services.user_update): an import may match by it again.
            self.instance.email_unproven = False
        return super().save(commit)


# Who is setting a password on the admin's page: Django builds and saves that form without the
# request (UserAdmin.user_change_password sets this around it; a context variable is per thread).
password_set_by: ContextVar[User | None] = ContextVar("password_set_by", default=None)


class StaffPasswordSetForm(AdminPasswordChangeForm):
    """The admin's "set password" page: a password chosen for someone else is temporary, ends
    the account's sessions and is recorded, as from the API (users.credentials)."""

    def save(self, commit=True) -> User:
        set_by = password_set_by.get()
        if not self.cleaned_data.get("set_usable_password", True):
            self.user.set_unusable_password()
            self.user.save(update_fields=["password"])
            credentials.sessions_revoke(user=self.user)
            return self.user
        credentials.password_store(
            user=self.user,
            password=self.cleaned_data["password1"],
            set_by=set_by,
            kind=PasswordChange.Kind.RESET,
        )
        return self.user
