"""Every account (staff and customers alike), for super admins only, since it can grant roles."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from users.admin.forms import StaffChangeForm, StaffCreationForm, staff_may_use_admin
from users.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Every account; super admins only, since it can grant roles."""

    form = StaffChangeForm
    add_form = StaffCreationForm
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
                ]
            },
        ),
        (
            "Access",
            {
                "fields": [
                    "user_role",
                    "is_active",
                    "is_verified",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        ("History", {"fields": ["date_joined", "last_login", "created_by", "import_job"]}),
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
    readonly_fields = ["date_joined", "last_login", "created_by", "import_job"]

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

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        return form.save(created_by=request.user)

    def save_model(self, request, obj, form, change):
        # A new user is already stored by StaffCreationForm.save.
        if change:
            super().save_model(request, obj, form, change)
