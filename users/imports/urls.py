from django.urls import path

from users.imports import apis, row_apis

urlpatterns = [
    path("customers/excel/template/", apis.TemplateView.as_view(), name="customer-template"),
    path("customers/upload/stats/", apis.StatsView.as_view(), name="customer-stats"),
    path("customers/excel/upload/", apis.UploadView.as_view(), name="import-upload"),
    path(
        "customers/excel/upload/<uuid:upload_id>/rows/",
        row_apis.PreviewPageView.as_view(),
        name="import-preview-page",
    ),
    path(
        "customers/excel/upload/<uuid:upload_id>/rows/<int:row>/",
        row_apis.RowView.as_view(),
        name="import-row",
    ),
    path(
        "customers/excel/upload/<uuid:upload_id>/possible-duplicates/",
        row_apis.PossibleDuplicatesView.as_view(),
        name="import-possible-duplicates",
    ),
    path(
        "customers/excel/upload/<uuid:upload_id>/remap/",
        apis.RemapView.as_view(),
        name="import-remap",
    ),
    path(
        "customers/excel/column-mappings/",
        apis.ColumnMappingListView.as_view(),
        name="import-column-mappings",
    ),
    path(
        "customers/excel/column-mappings/<int:mapping_id>/",
        apis.ColumnMappingView.as_view(),
        name="import-column-mapping",
    ),
    path("customers/excel/bulk-create/", apis.BulkCreateView.as_view(), name="import-confirm"),
    path(
        "customers/excel/bulk-create/<uuid:task_id>/cancel/",
        apis.CancelView.as_view(),
        name="import-cancel",
    ),
    path(
        "customers/excel/bulk-create-async/",
        apis.BulkCreateView.as_view(),
        name="import-confirm-async",
    ),
    path(
        "customers/excel/bulk-create/status/<uuid:task_id>/",
        apis.StatusView.as_view(),
        name="import-status",
    ),
    path(
        "customers/excel/bulk-create/<uuid:task_id>/undo/",
        apis.UndoView.as_view(),
        name="import-undo",
    ),
    path(
        "customers/excel/bulk-create/<uuid:task_id>/changes/",
        apis.ImportChangesView.as_view(),
        name="import-changes",
    ),
    path(
        "customers/excel/bulk-create/<uuid:task_id>/errors.xlsx",
        apis.FailedRowsView.as_view(),
        name="import-errors",
    ),
]
