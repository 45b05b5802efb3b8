from django.contrib import admin
from django.urls import include, path, re_path

from primepre import errors, health, home
from users.accounts import pages
from users.web.schema import RedocView, SchemaView, SwaggerView

urlpatterns = [
    path("", home.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/health/", health.health, name="health"),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/auth/", include("users.urls")),
    # Sign-in links texted to customers: short, so that a text holding one fits one SMS.
    path("i/<str:uid>/<str:token>/", pages.SignInLinkPage.as_view(), name="sign-in-link"),
    re_path(r"^api/", errors.api_not_found),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.not_found
handler500 = errors.server_error
