from django.urls import path

from users import views

app_name = "users"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("customers/", views.CustomerListCreateView.as_view(), name="customer-list"),
    path(
        "customers/<int:customer_id>/",
        views.CustomerDetailView.as_view(),
        name="customer-detail",
    ),
]
