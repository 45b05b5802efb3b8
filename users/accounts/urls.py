from django.urls import path

from users.accounts import apis, public_apis

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
    # The SPA's signed-out pages (users.accounts.public_apis).
    path(
        "generate-shipping-marks/",
        public_apis.GenerateShippingMarksView.as_view(),
        name="generate-shipping-marks",
    ),
    path(
        "signup/with-shipping-mark/",
        public_apis.SignupWithShippingMarkView.as_view(),
        name="signup-with-shipping-mark",
    ),
    path("signup/", public_apis.LegacySignupView.as_view(), name="signup"),
    path("verify-phone/", public_apis.VerifyPhoneView.as_view(), name="verify-phone"),
    path(
        "resend-verification/",
        public_apis.ResendVerificationView.as_view(),
        name="resend-verification",
    ),
    path(
        "phone/forgot-password/",
        public_apis.ForgotPasswordView.as_view(),
        name="phone-forgot-password",
    ),
    path("shipping-marks/", public_apis.ShippingMarkListView.as_view(), name="shipping-marks"),
    path("verify/shipping-mark/", public_apis.ClaimView.as_view(), name="verify-shipping-mark"),
    path(
        "verify/shipping-mark/confirm/",
        public_apis.ClaimView.as_view(),
        name="verify-shipping-mark-confirm",
    ),
]
