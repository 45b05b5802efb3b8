"""Who may do what. The default for every view is IsStaff (settings.REST_FRAMEWORK)."""

from rest_framework.permissions import BasePermission


def is_staff(user) -> bool:
    """An admin role (ADMIN, MANAGER, SUPER_ADMIN) or Django's is_staff; active and signed in."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff_member)


class IsStaff(BasePermission):
    """An admin role (ADMIN, MANAGER, SUPER_ADMIN) or Django's is_staff; active and signed in."""

    message = "Only staff can do this."

    def has_permission(self, request, view) -> bool:
        return is_staff(request.user)


class IsAuthenticatedUser(BasePermission):
    """Any signed-in, active user: customers reach only their own profile through this."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)
