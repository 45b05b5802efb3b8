from django.urls import path

from users.accounts import apis

urlpatterns = [
    path("login/", apis.LoginView.as_view(), name="login"),
    path("token/refresh/", apis.TokenRefreshView.as_view(), name="token-refresh"),
    path("logout/", apis.LogoutView.as_view(), name="logout"),
    path("password/reset/", apis.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        apis.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("me/", apis.MeView.as_view(), name="me"),
    path("profile/", apis.ProfileView.as_view(), name="profile"),
    path("password-change/", apis.PasswordChangeView.as_view(), name="password-change"),
]
