"""Everything under /api/auth/, one package at a time; each package's urls.py lists its own."""

from django.urls import include, path

app_name = "users"

urlpatterns = [
    path("", include("users.accounts.urls")),
    path("", include("users.customers.urls")),
    path("", include("users.imports.urls")),
]
