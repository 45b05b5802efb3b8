"""The user endpoints twice, as two views of one implementation (users.customers.apis): the
customer API, and the SPA's user management under the paths it calls."""

from django.urls import path

from users.customers import apis
from users.customers.selectors import Scope


def _user_routes(prefix: str, scope: Scope, name: str) -> list:
    def view(cls):
        return cls.as_view(scope=scope)

    return [
        path(f"{prefix}/", view(apis.UserListCreateView), name=f"{name}-list"),
        path(f"{prefix}/statistics/", view(apis.UserStatisticsView), name=f"{name}-statistics"),
        path(f"{prefix}/<int:user_id>/", view(apis.UserDetailView), name=f"{name}-detail"),
        path(
            f"{prefix}/<int:user_id>/history/",
            view(apis.UserHistoryView),
            name=f"{name}-history",
        ),
        path(
            f"{prefix}/<int:user_id>/toggle_active/",
            view(apis.UserToggleActiveView),
            name=f"{name}-toggle-active",
        ),
        path(
            f"{prefix}/<int:user_id>/reset_password/",
            view(apis.UserPasswordResetView),
            name=f"{name}-reset-password",
        ),
        path(
            f"{prefix}/<int:user_id>/send_message/",
            view(apis.UserMessageView),
            name=f"{name}-send-message",
        ),
    ]


urlpatterns = [
    path("register/", apis.UserRegisterView.as_view(scope=Scope.USERS), name="register"),
    path("customers/export/", apis.ExportView.as_view(), name="customer-export"),
    *_user_routes("customers", Scope.CUSTOMERS, "customer"),
    *_user_routes("admin/users", Scope.USERS, "admin-user"),
]
