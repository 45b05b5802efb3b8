"""The admin site: who may enter (the API's staff rule, User.is_staff_member, not Django's
is_staff alone) and how (users.admin.forms.StaffAuthenticationForm); access to each model follows
roles, not Django's per-model permissions."""

from django.contrib import admin

from users.admin.forms import StaffAuthenticationForm, staff_may_use_admin

# The default site keeps every other app's registrations; only who may enter and how changes.
admin.site.has_permission = staff_may_use_admin
admin.site.login_form = StaffAuthenticationForm
admin.site.site_header = "primepre administration"
admin.site.site_title = "primepre admin"
admin.site.index_title = "Customers and imports"
admin.site.site_url = None  # the API serves nothing at "/" to link to


class ForStaff:
    """Read-only model admins open to every staff member."""

    def has_module_permission(self, request) -> bool:
        return staff_may_use_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return staff_may_use_admin(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
