"""Every account (staff and customers alike), for super admins only, since it can grant roles."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import path

from users.admin.forms import (
    StaffChangeForm,
    StaffCreationForm,
    StaffPasswordSetForm,
    password_set_by,
    staff_may_use_admin,
)
from users.admin.sign_in_links import SignInLinkView
from users.models import PasswordChange, User

# What nobody changes of their own account (users.customers.roles): a super admin keeps the
# rights they signed in with until another super admin changes them.
OWN_READ_ONLY = ["user_role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Every account; super admins only, since it can grant roles."""

    form = StaffChangeForm
    add_form = StaffCreationForm
    change_password_form = StaffPasswordSetForm
    ordering = ["-date_joined"]
    list_display = ["phone", "first_name", "last_name", "user_role", "is_staff", "is_active"]
    list_filter = ["user_role", "is_staff", "is_active", "is_verified"]
    search_fields = ["phone", "email", "first_name", "last_name", "shipping_mark"]
    fieldsets = [
        (None, {"fields": ["phone", "password"]}),
        (
            "Profile",
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "nickname",
                    "email",
                    "company_name",
                    "shipping_mark",
                    "region",
                    "user_type",
                ]
            },
        ),
        (
            "Access",
            {
                "fields": [
                    "user_role",
                    "accessible_warehouses",
                    "is_active",
                    "is_verified",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        (
            "History",
            {
                "fields": [
                    "date_joined",
                    "last_login",
                    "created_by",
                    "import_job",
                    "password_expires_at",
                ]
            },
        ),
    ]
    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "phone",
                    "first_name",
                    "last_name",
                    "email",
                    "user_role",
                    "is_verified",
                    "password1",
                    "password2",
                ]
            },
        ),
    ]
    readonly_fields = [
        "date_joined",
        "last_login",
        "created_by",
        "import_job",
        "password_expires_at",
    ]

    def _super_admin(self, request) -> bool:
        return staff_may_use_admin(request) and request.user.is_super_admin

    def has_module_permission(self, request) -> bool:
        return self._super_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._super_admin(request)

    def has_add_permission(self, request) -> bool:
        return self._super_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._super_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._super_admin(request)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            fields += OWN_READ_ONLY
        return fields

    def get_urls(self):
        link = self.admin_site.admin_view(SignInLinkView.as_view(model_admin=self))
        return [
            path("<path:object_id>/sign-in-link/", link, name="users_user_sign_in_link"),
            *super().get_urls(),
        ]

    def user_change_password(self, request, id, form_url=""):
        # Django builds and saves the form; who sets the password is only known here.
        token = password_set_by.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            password_set_by.reset(token)

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        return form.save(created_by=request.user)

    def save_model(self, request, obj, form, change):
        # A new user is already stored by StaffCreationForm.save.
        if change:
            super().save_model(request, obj, form, change)


@admin.register(PasswordChange)
class PasswordChangeAdmin(admin.ModelAdmin):
    """Who set whose password, when, and until when a temporary one signs in; super admins
    only, read only."""

    list_display = ["user", "kind", "set_by", "temporary", "expires_at", "created_at"]
    list_filter = ["kind", "temporary"]
    list_select_related = ["user", "set_by"]
    search_fields = ["user__phone", "user__shipping_mark", "set_by__phone"]
    ordering = ["-created_at", "-id"]

    def has_module_permission(self, request) -> bool:
        return staff_may_use_admin(request) and request.user.is_super_admin

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
