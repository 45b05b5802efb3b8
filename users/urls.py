from django.urls import path

from users import export_views, import_views, views

app_name = "users"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("me/", views.MeView.as_view(), name="me"),
    path("customers/", views.CustomerListCreateView.as_view(), name="customer-list"),
    path("customers/export/", export_views.ExportView.as_view(), name="customer-export"),
    path(
        "customers/excel/template/",
        export_views.TemplateView.as_view(),
        name="customer-template",
    ),
    path("customers/upload/stats/", export_views.StatsView.as_view(), name="customer-stats"),
    path(
        "customers/<int:customer_id>/",
        views.CustomerDetailView.as_view(),
        name="customer-detail",
    ),
    path(
        "customers/excel/upload/",
        import_views.UploadView.as_view(),
        name="import-upload",
    ),
    path(
        "customers/excel/upload/<uuid:upload_id>/rows/",
        import_views.PreviewPageView.as_view(),
        name="import-preview-page",
    ),
    path(
        "customers/excel/bulk-create/",
        import_views.BulkCreateView.as_view(),
        name="import-confirm",
    ),
    path(
        "customers/excel/bulk-create-async/",
        import_views.BulkCreateView.as_view(),
        name="import-confirm-async",
    ),
    path(
        "customers/excel/bulk-create/status/<uuid:task_id>/",
        import_views.StatusView.as_view(),
        name="import-status",
    ),
    path(
        "customers/excel/bulk-create/<uuid:task_id>/errors.xlsx",
        import_views.FailedRowsView.as_view(),
        name="import-errors",
    ),
]
