"""The admin's customer import page: upload -> preview -> confirm -> progress -> result.

Each view parses its form, calls the services the API calls (users.imports.read, .remap, .jobs and
.reports) and renders. The progress page polls the API's status endpoint with the
admin's session (users/static/users/admin_import.js) and, without JavaScript, shows the status
as of each reload.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.views import View

from primepre.body_limit import BodyLimit
from users import errors
from users.admin import possible_duplicates, row_fixes
from users.customers.rules import CUSTOMER_FIELDS
from users.errors import FileError
from users.excel.columns import TEMPLATE_HEADERS
from users.imports import (
    jobs,
    mappings,
    parse,
    preview_columns,
    progress,
    read,
    remap,
    reports,
    selectors,
)
from users.messaging import sms
from users.models import ImportJob

ACCEPTED_EXTENSIONS = ".xlsx,.xls,.xlsb,.ods,.csv"
JOB_PAGE = "admin:users_customer_import_job"


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Spreadsheet",
        help_text="An Excel (xlsx, xls, xlsb), OpenDocument (ods) or CSV file with a header row.",
        widget=forms.FileInput(attrs={"accept": ACCEPTED_EXTENSIONS}),
    )
    mode = forms.ChoiceField(
        label="Rows that match a customer",
        choices=ImportJob.Mode.choices,
        initial=ImportJob.Mode.CREATE,
        required=False,
        widget=forms.RadioSelect,
    )
    match = forms.ChoiceField(
        label="Match customers by",
        choices=ImportJob.Match.choices,
        initial=ImportJob.Match.PHONE,
        required=False,
        help_text="Compared as stored: any phone format, email and mark in any case.",
    )
    blank_clears = forms.BooleanField(
        required=False,
        label="A blank cell erases the stored email, company or nickname",
    )


class UploadMappingForm(forms.Form):
    """Optional columns for the fields, for a file whose headers name none of them (a refused
    upload says which columns it has): a header text or a column letter each."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in TEMPLATE_HEADERS.items():
            self.fields[f"map-{name}"] = forms.CharField(
                label=label, required=False, max_length=255, strip=True
            )

    def chosen(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"map-{name}"]
            for name in TEMPLATE_HEADERS
            if self.cleaned_data.get(f"map-{name}")
        }


class ConfirmForm(forms.Form):
    notify = forms.BooleanField(
        required=False,
        label="Text each new customer an invitation to set a password (SMS)",
    )


def _labelled(field: str) -> str:
    return parse.FIELD_LABELS.get(field, field)


class _ImportView(View):
    """Staff only (the admin site lets no one else this far); `model_admin` is the customer
    admin, given to as_view()."""

    model_admin = None

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not self.model_admin.has_import_permission(request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def render(self, request: HttpRequest, template: str, **context) -> TemplateResponse:
        return TemplateResponse(
            request,
            f"admin/users/customer/{template}",
            {
                **self.model_admin.admin_site.each_context(request),
                "opts": self.model_admin.model._meta,
                **context,
            },
        )

    def job(self, request: HttpRequest, job_id) -> ImportJob:
        job = selectors.import_job_get(job_id=job_id, user=request.user)
        if job is None:
            raise Http404("No such import.")
        return job


class ImportUploadView(_ImportView):
    http_method_names = ["get", "post"]
    body_limit = BodyLimit.UPLOAD

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request, UploadForm(), UploadMappingForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        mapping = UploadMappingForm(request.POST)
        if form.is_valid() and mapping.is_valid():
            try:
                job = read.preview_from_upload(
                    owner=request.user,
                    upload=form.cleaned_data["file"],
                    options=parse.ImportOptions(
                        mode=form.cleaned_data["mode"] or ImportJob.Mode.CREATE,
                        match=form.cleaned_data["match"] or ImportJob.Match.PHONE,
                        blank_clears=form.cleaned_data["blank_clears"],
                    ),
                    chosen=mapping.chosen() or None,
                )
            except FileError as error:
                form.add_error("file", ValidationError(error.message, code=error.code))
            else:
                return redirect(JOB_PAGE, job_id=job.pk)
        return self.page(request, form, mapping)

    def page(
        self, request: HttpRequest, form: UploadForm, mapping: UploadMappingForm
    ) -> TemplateResponse:
        return self.render(
            request, "import.html", title="Import customers", form=form, mapping=mapping
        )


class ImportJobView(_ImportView):
    """The preview while the job waits for a confirm; its progress and result after."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, job_id) -> HttpResponse:
        job = self.job(request, job_id)
        if job.status == ImportJob.Status.PARSED:
            preview = reports.preview_response(job, viewer=request.user)
            return self.render(
                request,
                "import_preview.html",
                title=f"Preview of {job.file_name}",
                job=job,
                preview=preview,
                mapping=_mapping_rows(job, preview),
                row_errors=[
                    {**error, "field": _labelled(error["field"])} for error in preview["errors"]
                ],
                updates=[
                    {
                        "row": entry["source_row_number"],
                        "customer_id": entry["customer_id"],
                        "changes": [
                            {**change, "field": _labelled(change["field"])}
                            for change in entry["changes"]
                        ],
                    }
                    for entry in preview["update_results"]["to_update"]
                ],
                confirm_form=ConfirmForm(),
                sms_configured=sms.sms_configured(),
                # Only the owner fixes rows (users.imports.fixes): others see the lists.
                fix_rows=row_fixes.fix_rows(job, preview)
                if job.owner_id == request.user.pk
                else [],
                choice_rows=possible_duplicates.choice_rows(job, request.user),
                may_choose=job.owner_id == request.user.pk,
                shows_updates=job.mode != ImportJob.Mode.CREATE
                or "to_update" in preview["summary"],
            )
        job = jobs.import_job_watched(job=job)
        return self.render(
            request,
            "import_progress.html",
            title=f"Import of {job.file_name}",
            job=job,
            status=progress.job_status(job, viewer=request.user),
            may_undo=job.status in ImportJob.FINISHED_STATUSES
            and (job.created_count or job.updated_count),
        )


def _mapping_rows(job: ImportJob, preview: dict) -> list[dict]:
    """A row per field for the preview's mapping form: its select's options (every column of
    the file) with the column the header matching (or the admin) gave it selected."""
    letters = preview_columns.field_letters(job)
    guesses = {guess["field"]: guess for guess in preview["column_guesses"]}
    remembered = mappings.recalled_fields(job)
    options = [
        (
            column["column"],
            f"{column['column']}: {column['header']}" if column["header"] else column["column"],
        )
        for column in preview["columns"]
    ]
    return [
        {
            "field": choice["field"],
            "label": choice["label"],
            "required": choice["required"],
            "selected": letters.get(choice["field"], ""),
            "header": preview["column_mapping"].get(choice["field"], ""),
            "guess": guesses.get(choice["field"]),
            "remembered": choice["field"] in remembered,
            "options": options,
        }
        for choice in preview["field_choices"]
    ]


class ImportRemapView(_ImportView):
    """The preview's mapping form: the fields whose column changed are sent as the admin's
    column mapping, with the fields chosen before (with the upload, an earlier remap, or
    remembered) as they are, and the upload is read again from its stored rows (a remap reads
    over the header matching: a choice not sent would be lost)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id) -> HttpResponse:
        job = self.job(request, job_id)
        letters = preview_columns.field_letters(job)
        changed = {}
        for name in CUSTOMER_FIELDS:
            key = f"map-{name}"
            if key in request.POST and request.POST[key] != letters.get(name, ""):
                changed[name] = request.POST[key] or None
        if not changed:
            messages.info(request, "The mapping is unchanged.")
            return redirect(JOB_PAGE, job_id=job.pk)
        chosen = {
            name: letters.get(name) for name in job.column_mapping.get("chosen") or []
        } | changed
        try:
            remap.preview_remap(job=job, chosen=chosen)
        except FileError as error:
            messages.error(request, error.message)
        except errors.ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "The file was read again with the columns you chose.")
        return redirect(JOB_PAGE, job_id=job.pk)


class ImportFixView(_ImportView):
    """The preview's "Save fixes": the rows whose cells or skip box changed are fixed where
    they stand (users.admin.row_fixes), and the preview is drawn again."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id) -> HttpResponse:
        job = self.job(request, job_id)
        row_fixes.fixes_save(request, job)
        return redirect(JOB_PAGE, job_id=job.pk)


class ImportChoiceView(_ImportView):
    """A choice for a possible duplicate, or for all of them (users.admin.possible_duplicates),
    and the preview drawn again."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id) -> HttpResponse:
        job = self.job(request, job_id)
        possible_duplicates.choice_save(request, job)
        return redirect(JOB_PAGE, job_id=job.pk)


class ImportCancelView(_ImportView):
    """Stop on the progress page: a queued import at once, a running one after its batch."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id) -> HttpResponse:
        job = self.job(request, job_id)
        try:
            jobs.import_job_cancel(job=job, user=request.user)
        except errors.ApplicationError as error:
            messages.error(request, error.message)
        return redirect(JOB_PAGE, job_id=job.pk)


class ImportConfirmView(_ImportView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id) -> HttpResponse:
        form = ConfirmForm(request.POST)
        notify = form.is_valid() and form.cleaned_data["notify"]
        try:
            job = jobs.import_job_confirm(job_id=job_id, user=request.user, notify=notify)
        except errors.ApplicationError as error:
            if error.code == errors.NOT_FOUND:
                raise Http404(error.message) from error
            messages.error(request, self.error_message(error))
            return redirect(JOB_PAGE, job_id=job_id)
        return redirect(JOB_PAGE, job_id=job.pk)

    def error_message(self, error: errors.ApplicationError) -> str:
        if error.code == jobs.IMPORT_IN_PROGRESS and error.errors:
            url = reverse(JOB_PAGE, args=[error.errors["task_id"]])
            return format_html('{} <a href="{}">See that import</a>.', error.message, url)
        return error.message


class ImportUndoView(_ImportView):
    """Undo of a finished import: queued, then followed on the import's page."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id) -> HttpResponse:
        try:
            jobs.import_undo_request(job_id=job_id, user=request.user)
        except errors.ApplicationError as error:
            if error.code == errors.NOT_FOUND:
                raise Http404(error.message) from error
            messages.error(request, error.message)
        else:
            messages.success(request, "Undo queued: the page shows its progress.")
        return redirect(JOB_PAGE, job_id=job_id)
