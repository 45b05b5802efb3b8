from django.urls import path

from users.customers import apis

urlpatterns = [
    path("customers/", apis.CustomerListCreateView.as_view(), name="customer-list"),
    path("customers/export/", apis.ExportView.as_view(), name="customer-export"),
    path("customers/<int:customer_id>/", apis.CustomerDetailView.as_view(), name="customer-detail"),
]
