from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from users.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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
        (None, {"fields": ["phone", "first_name", "last_name", "password1", "password2"]}),
    ]
    readonly_fields = ["date_joined", "last_login", "created_by", "import_job"]
