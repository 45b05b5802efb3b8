"""The app's models, every one of them: users and their roles, customers' change history,
import jobs with their staged rows, row errors, row fixes and undos, the column mappings
remembered, texted PINs, sign-in links and the counters of the rate limits.

One module of about 730 lines, on purpose: Django finds an app's models in `users.models`, its
migrations name them there, and every package imports them from it; split, they would only
be gathered again in a package `__init__`.
"""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Concat, Left, Length, Lower, Right, StrIndex, Upper
from django.utils import timezone


class Region(models.TextChoices):
    """Ghana's regions, with Brong Ahafo kept for customers recorded before the 2018 split."""

    GREATER_ACCRA = "GREATER_ACCRA", "Greater Accra"
    ASHANTI = "ASHANTI", "Ashanti"
    WESTERN = "WESTERN", "Western"
    CENTRAL = "CENTRAL", "Central"
    VOLTA = "VOLTA", "Volta"
    EASTERN = "EASTERN", "Eastern"
    NORTHERN = "NORTHERN", "Northern"
    UPPER_EAST = "UPPER_EAST", "Upper East"
    UPPER_WEST = "UPPER_WEST", "Upper West"
    BRONG_AHAFO = "BRONG_AHAFO", "Brong Ahafo"
    WESTERN_NORTH = "WESTERN_NORTH", "Western North"
    AHAFO = "AHAFO", "Ahafo"
    BONO = "BONO", "Bono"
    BONO_EAST = "BONO_EAST", "Bono East"
    OTI = "OTI", "Oti"
    NORTH_EAST = "NORTH_EAST", "North East"
    SAVANNAH = "SAVANNAH", "Savannah"


class Role(models.TextChoices):
    CUSTOMER = "CUSTOMER", "Customer"
    STAFF = "STAFF", "Staff"
    ADMIN = "ADMIN", "Admin"
    MANAGER = "MANAGER", "Manager"
    SUPER_ADMIN = "SUPER_ADMIN", "Super admin"


class UserType(models.TextChoices):
    INDIVIDUAL = "INDIVIDUAL", "Individual"
    BUSINESS = "BUSINESS", "Business"


class Warehouse(models.TextChoices):
    """The warehouses a staff account may work in (the SPA's accessible_warehouses)."""

    CHINA = "china", "China"
    GHANA = "ghana", "Ghana"


STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.SUPER_ADMIN})


def is_staff_member(*, user_role: str, is_staff: bool, is_superuser: bool) -> bool:
    """Staff for the API: an admin role, or Django's is_staff (or superuser) flag. Role STAFF
    alone is not: it signs in, and manages nothing until a super admin gives it an admin role."""
    return bool(is_staff or is_superuser or user_role in STAFF_ROLES)


def is_super_admin(*, user_role: str, is_superuser: bool) -> bool:
    return bool(is_superuser or user_role == Role.SUPER_ADMIN)


FIRST_NAME_MAX = 50
LAST_NAME_MAX = 50
NICKNAME_MAX = 50
COMPANY_NAME_MAX = 100
SHIPPING_MARK_MIN = 2
SHIPPING_MARK_MAX = 100
EMAIL_MAX = 254
PHONE_MAX = 16  # "+" and at most 15 digits (ITU-T E.164)


# The blocking keys of the near-duplicate check (users.imports.resemblance), each behind an index
# of its own. A phone's last nine digits in four blocks (3, 2, 2 and 2 digits): a one-digit slip
# leaves three of them whole, so the phone without one block or another is equal. And the
# email's local part. One expression here serves the index and the query, so that both say the
# same SQL.
PHONE_WITHOUT_BLOCK = (
    Right("phone", 6),
    Concat(Left("phone", Length("phone") - 6), Right("phone", 4)),
    Concat(Left("phone", Length("phone") - 4), Right("phone", 2)),
    Left("phone", Length("phone") - 2),
)
EMAIL_LOCAL_PART = Left("email", StrIndex("email", models.Value("@")) - 1)


class UserManager(BaseUserManager):
    """Users are created by users.customers.services.user_create, which applies every rule; the
    project's createsuperuser command goes through it too, so this manager adds nothing."""

    use_in_migrations = True


class User(AbstractBaseUser, PermissionsMixin):
    """A person who can be known to the system; a customer is a user with role CUSTOMER.

    phone, email and shipping_mark are stored normalised (users.customers.rules) and the constraints
    below are the last line behind that: no path can store two case or format variants.
    """

    phone = models.CharField(max_length=PHONE_MAX, unique=True)
    email = models.EmailField(max_length=EMAIL_MAX, null=True, blank=True)
    shipping_mark = models.CharField(max_length=SHIPPING_MARK_MAX)
    first_name = models.CharField(max_length=FIRST_NAME_MAX)
    last_name = models.CharField(max_length=LAST_NAME_MAX)
    nickname = models.CharField(max_length=NICKNAME_MAX, blank=True, default="")
    company_name = models.CharField(max_length=COMPANY_NAME_MAX, blank=True, default="")
    region = models.CharField(max_length=20, choices=Region.choices, default=Region.GREATER_ACCRA)
    user_role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    user_type = models.CharField(
        max_length=10, choices=UserType.choices, default=UserType.INDIVIDUAL
    )
    # Warehouse codes (Warehouse); staff accounts only, a customer's is always empty.
    accessible_warehouses = models.JSONField(default=list, blank=True)
    is_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # No index of its own: the unique (import_job, source_row) index below starts with it and
    # serves every lookup by job (an undo, a job's deletion); a second one cost every import's
    # COPY its upkeep (bench/bench_schema.py).
    import_job = models.ForeignKey(
        "ImportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        db_index=False,
    )
    source_row = models.PositiveIntegerField(null=True, blank=True)
    # Set when someone other than the holder chose the password: it signs in until then, and
    # the holder's own change clears it (users.credentials).
    password_expires_at = models.DateTimeField(null=True, blank=True)
    # Whether the email was chosen by the holder (at sign-up or on their profile) and nobody has
    # vouched for it since: an import does not match an account by such an email
    # (users.customers.roles.import_refusal). Staff setting the email clears it. The database
    # default lets code that predates the column (a server still running during a deploy) go on
    # inserting users.
    email_unproven = models.BooleanField(default=False, db_default=False)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["-date_joined", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.UniqueConstraint(Upper("shipping_mark"), name="user_shipping_mark_ci_unique"),
            models.UniqueConstraint(
                fields=["import_job", "source_row"], name="user_import_job_source_row_unique"
            ),
            models.CheckConstraint(
                condition=Q(phone__regex=r"^\+[1-9][0-9]{5,14}$"), name="user_phone_e164"
            ),
            models.CheckConstraint(
                condition=Q(email__isnull=True) | ~Q(email=""), name="user_email_null_not_blank"
            ),
            models.CheckConstraint(
                condition=~Q(shipping_mark__contains="  ")
                & ~Q(shipping_mark__startswith=" ")
                & ~Q(shipping_mark__endswith=" "),
                name="user_shipping_mark_spaces_collapsed",
            ),
        ]
        indexes = [
            models.Index(fields=["user_role", "region"]),
            # The customer list's default order.
            models.Index(fields=["user_role", "-date_joined", "-id"], name="user_role_joined_idx"),
            *(
                models.Index(key, name=f"user_phone_but_block{n}_idx")
                for n, key in enumerate(PHONE_WITHOUT_BLOCK, start=1)
            ),
            models.Index(EMAIL_LOCAL_PART, name="user_email_local_part_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shipping_mark} (#{self.pk})"

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def is_staff_member(self) -> bool:
        return is_staff_member(
            user_role=self.user_role, is_staff=self.is_staff, is_superuser=self.is_superuser
        )

    @property
    def is_super_admin(self) -> bool:
        return is_super_admin(user_role=self.user_role, is_superuser=self.is_superuser)

    @property
    def is_staff_account(self) -> bool:
        """Any account that is not a plain customer (role STAFF included)."""
        return self.user_role != Role.CUSTOMER or self.is_staff_member


class CustomerManager(UserManager):
    def get_queryset(self):
        return super().get_queryset().filter(user_role=Role.CUSTOMER)


class Customer(User):
    """Customers only (role CUSTOMER): what the Django admin lists at /admin/users/customer/."""

    objects = CustomerManager()

    class Meta:
        proxy = True
        verbose_name = "customer"
        verbose_name_plural = "customers"


class ImportJobQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        # Jobs change mostly through conditional updates, which skip auto_now.
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)


class LeasedJob(models.Model):
    """What an import (ImportJob) and the undo of one (ImportUndo) share: both are jobs run in
    batches by the worker holding their lease (users.imports.leases: worker_id, heartbeat_at,
    attempts), from queued to a finished status, with a message for the person who asked.
    The checkpoint stays with each: an import counts rows, an undo walks ids."""

    class Status(models.TextChoices):
        PARSED = "PARSED", "Parsed"
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        COMPLETE = "COMPLETE", "Complete"
        FAILED = "FAILED", "Failed"
        CANCELLED = "CANCELLED", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.COMPLETE, Status.FAILED, Status.CANCELLED)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.CharField(max_length=500, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class ImportJob(LeasedJob):
    """One uploaded file, from preview to the last created customer."""

    class Mode(models.TextChoices):
        CREATE = "create", "Create new customers"
        UPDATE = "update", "Update matching customers, create the others"
        UPDATE_ONLY = "update_only", "Update matching customers only"

    class Match(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        SHIPPING_MARK = "shipping_mark", "Shipping mark"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="import_jobs")
    mode = models.CharField(max_length=11, choices=Mode.choices, default=Mode.CREATE)
    match = models.CharField(max_length=13, choices=Match.choices, default=Match.PHONE)
    # Whether a blank cell of an optional text field (email, company, nickname) erases it.
    blank_clears = models.BooleanField(default=False)
    # An import waits for its confirmation before it is queued.
    status = models.CharField(
        max_length=10, choices=LeasedJob.Status.choices, default=LeasedJob.Status.PARSED
    )
    file_name = models.CharField(max_length=255, blank=True, default="")
    file_size = models.PositiveBigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64, blank=True, default="")
    file_type = models.CharField(max_length=10, blank=True, default="")
    column_mapping = models.JSONField(default=dict)
    headers = models.JSONField(default=list)
    notify = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)

    total_rows = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    existing_duplicate_count = models.PositiveIntegerField(default=0)
    batch_duplicate_count = models.PositiveIntegerField(default=0)
    to_create_count = models.PositiveIntegerField(default=0)
    to_update_count = models.PositiveIntegerField(default=0)
    # Rows matching a customer whose stored values they already hold.
    unchanged_count = models.PositiveIntegerField(default=0)
    ambiguous_count = models.PositiveIntegerField(default=0)
    # update_only: rows that match no customer.
    no_match_count = models.PositiveIntegerField(default=0)
    # Rows to create that resemble a customer or an earlier row (users.imports.resemblance):
    # a part of to_create_count, created like the others.
    possible_duplicate_count = models.PositiveIntegerField(default=0)
    # Rows the admin set aside in the preview (users.imports.fixes): never written.
    skipped_in_preview_count = models.PositiveIntegerField(default=0)

    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    # Rows to update found unchanged when they ran (someone made the same change meanwhile).
    run_unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    sms_sent_count = models.PositiveIntegerField(default=0)
    sms_failed_count = models.PositiveIntegerField(default=0)
    checkpoint = models.PositiveIntegerField(default=0)
    task_result_id = models.CharField(max_length=64, blank=True, default="")
    # When the stored rows were deleted (users.imports.jobs.import_jobs_prune): the counts stay.
    rows_pruned_at = models.DateTimeField(null=True, blank=True)
    # Set when an undo of this import finished (ImportUndo holds its progress and counts).
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta(LeasedJob.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"], name="import_job_owner_idempotency_key"
            ),
            # One import queued or running per owner, enforced where two requests could race.
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(status__in=["QUEUED", "RUNNING"]),
                name="import_job_one_active_per_owner",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.status})"

    @property
    def skipped_count(self) -> int:
        """Rows that preview already knew would not be written."""
        return (
            self.invalid_count
            + self.existing_duplicate_count
            + self.batch_duplicate_count
            + self.ambiguous_count
            + self.no_match_count
            + self.skipped_in_preview_count
        )

    @property
    def to_write_count(self) -> int:
        """Rows the run writes: customers to create and customers to update."""
        return self.to_create_count + self.to_update_count


class ImportStagedRow(models.Model):
    """One row of an upload as its preview staged it (users.imports.stored_rows reads and writes
    these): its place in the file, the preview's verdict (`outcome`, one letter of
    users.imports.stored_rows.Outcome), its normalised customer fields as columns, the keys the
    users' unique indexes compare (so duplicates are found by joins on them), the cells as
    uploaded, and, for a row that updates a customer, that customer and the changes.

    Keyed by (job, position): one row is found, re-validated and re-classified by its job and
    place alone. No other index: every row of a preview is written by one COPY, and each index
    would be upkeep on it; the joins probe the users' indexes, not these rows'."""

    pk = models.CompositePrimaryKey("job_id", "position")
    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="staged_rows", db_index=False
    )
    # The row's place among the file's data rows (0-based); `source_row` its number in the file.
    position = models.PositiveIntegerField()
    source_row = models.PositiveIntegerField()
    outcome = models.CharField(max_length=1)
    # Whether every field passed its rules (a valid row of an update may still lack what a
    # create needs: its outcome says what came of it).
    valid = models.BooleanField()
    # The normalised fields (users.customers.rules.CUSTOMER_FIELDS); a field that failed its
    # rule is NULL. Text without length limits: the rules bound what is kept.
    shipping_mark = models.TextField(null=True)
    first_name = models.TextField(null=True)
    last_name = models.TextField(null=True)
    email = models.TextField(null=True)
    phone = models.TextField(null=True)
    region = models.TextField(null=True)
    company_name = models.TextField(null=True)
    nickname = models.TextField(null=True)
    user_type = models.TextField(null=True)
    # The unique values as the users' unique indexes compare them (LOWER(email),
    # UPPER(shipping_mark); the phone is compared as it is): the mark the file gave, not one
    # the import chose.
    email_key = models.TextField(null=True)
    mark_key = models.TextField(null=True)
    # The fields the row gives a value for (an update changes only those), comma-separated.
    given = models.TextField(default="")
    # The cells as uploaded, compact JSON (NUL shown as U+FFFD).
    raw = models.TextField()
    mark_generated = models.BooleanField(default=False, db_default=False)
    # The customer an update (or unchanged) row matched: no foreign key, the run finds a
    # customer deleted since and says so.
    customer_id = models.BigIntegerField(null=True)
    # [[field, old, new], ...] of each field an update changes, compact JSON.
    changes = models.TextField(null=True)
    # A possible duplicate (users.imports.resemblance): the customer it resembles, or the number
    # in the file of the earlier row it resembles, and why (a reason code and a sentence). No
    # foreign key, as for customer_id: the customer may be deleted before anyone looks.
    resembles_customer_id = models.BigIntegerField(null=True)
    resembles_row = models.PositiveIntegerField(null=True)
    resemblance_code = models.TextField(null=True)
    resemblance_message = models.TextField(null=True)
    # The admin's choice for a possible duplicate (users.imports.choices; one letter of
    # users.imports.stored_rows.Choice): create it anyway, update the customer it resembles, or
    # skip it. Kept through the re-classification of other rows; dropped when its cells are
    # fixed.
    choice = models.CharField(max_length=1, null=True)

    def __str__(self) -> str:
        return f"Row {self.source_row} of {self.job_id}"


class ImportRowError(models.Model):
    """A row that was not created, and why: written at preview and when a row fails to insert."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField()
    # The row's place in the file (0-based): its ImportStagedRow's position.
    position = models.PositiveIntegerField(default=0)
    field = models.CharField(max_length=30, blank=True, default="")
    code = models.CharField(max_length=30)
    message = models.CharField(max_length=300)
    value = models.CharField(max_length=300, blank=True, default="")
    at_run = models.BooleanField(default=False)

    class Meta:
        ordering = ["job", "row", "id"]
        indexes = [
            models.Index(fields=["job", "row"]),
            models.Index(fields=["job", "position"]),
        ]

    def __str__(self) -> str:
        return f"Row {self.row}: {self.code}"


class ImportRowFix(models.Model):
    """One change an admin made to a row of a preview before confirming it
    (users.imports.fixes): a field's cell fixed (`old` the cell before, `new` the value sent),
    the row skipped or taken back, or a possible duplicate created anyway or made an update of
    the customer it resembles (`new` that customer's id). Kept with the job: the row's
    history."""

    class Action(models.TextChoices):
        FIX = "fix", "Fixed a field"
        SKIP = "skip", "Skipped the row"
        INCLUDE = "include", "Took the row back"
        # A possible duplicate's choices (users.imports.choices).
        CREATE = "create", "Chose to create it anyway"
        UPDATE = "update", "Chose to update the customer it resembles"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_fixes")
    # The row's number in the file, and its place among the data rows (its staged row's key).
    row = models.PositiveIntegerField()
    position = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    field = models.CharField(max_length=30, blank=True, default="")
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    changed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "position", "id"]
        indexes = [models.Index(fields=["job", "position"])]

    def __str__(self) -> str:
        return f"Row {self.row}: {self.action} {self.field}".rstrip()


class CustomerChange(models.Model):
    """One change of a customer's fields: by an import, by the undo of one, or by an edit
    (the API, the admin). `fields` is {field: {"old": value, "new": value}}."""

    class Source(models.TextChoices):
        IMPORT = "import", "Import"
        UNDO = "undo", "Undo of an import"
        EDIT = "edit", "Edit"

    customer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="changes")
    import_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.IMPORT)
    changed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    # The file row an import's change came from.
    source_row = models.PositiveIntegerField(null=True, blank=True)
    fields = models.JSONField(default=dict)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "id"]),
            models.Index(fields=["import_job", "source", "id"]),
        ]

    def __str__(self) -> str:
        return f"Change of user {self.customer_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class ImportUndo(LeasedJob):
    """Undoing an import: deleting the customers it created and restoring the fields it
    updated, in batches from a checkpoint, by the worker holding the lease (as an import runs).

    `phase` says which list the checkpoint walks: "changes" (the import's CustomerChanges, by
    id), then "created" (the customers it created, by id)."""

    job = models.OneToOneField(ImportJob, on_delete=models.CASCADE, related_name="undo")
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phase = models.CharField(max_length=8, default="changes")
    checkpoint = models.PositiveBigIntegerField(default=0)
    to_delete_count = models.PositiveIntegerField(default=0)
    to_restore_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)
    restored_count = models.PositiveIntegerField(default=0)
    kept_count = models.PositiveIntegerField(default=0)

    class Meta(LeasedJob.Meta):
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"Undo of {self.job_id} ({self.status})"


class UndoKept(models.Model):
    """A customer an undo left as it was, and why (changed since, signed in, a value taken)."""

    undo = models.ForeignKey(ImportUndo, on_delete=models.CASCADE, related_name="kept")
    customer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the undo would have done: "delete" or "restore".
    action = models.CharField(max_length=7)
    code = models.CharField(max_length=30)
    message = models.CharField(max_length=300)

    class Meta:
        ordering = ["undo", "id"]

    def __str__(self) -> str:
        return f"Kept user {self.customer_id}: {self.code}"


class RememberedMapping(models.Model):
    """The columns an admin chose by hand for a file with these headers, remembered when that
    import was confirmed, so the next upload whose headers are the same (users.imports.mappings
    says when they are) is read the same way.

    `headers_key` is the digest of the file's normalised header texts, sorted: a file whose
    columns were moved around holds the same columns, and the choices name columns by their
    header text, not by their place. `choices` is a column mapping as the upload takes it
    ({field: header text, or null to leave the field out})."""

    headers_key = models.CharField(max_length=64)
    # The header row of the file the columns were chosen for, as uploaded (for display).
    headers = models.JSONField(default=list)
    choices = models.JSONField(default=dict)
    chosen_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chosen_at = models.DateTimeField(default=timezone.now)
    # Confirmed imports that read their columns from this choice since it was made.
    times_used = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-chosen_at", "-id"]
        # A constraint rather than unique=True: on Postgres that would add a second index, for
        # LIKE, which nothing here asks of a digest.
        constraints = [
            models.UniqueConstraint(fields=["headers_key"], name="remembered_mapping_headers_key")
        ]

    def __str__(self) -> str:
        return f"Columns chosen for {len(self.headers)} headers"


class TextedPin(models.Model):
    """A PIN texted to a user's phone (users.accounts.pins): stored hashed, valid until
    `expires_at`, ended by too many wrong guesses (`attempts`), used once (`used_at`)."""

    pin_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class PasswordResetPin(TextedPin):
    """A PIN that resets the password: valid PASSWORD_RESET_PIN_MINUTES, and
    PASSWORD_RESET_MAX_ATTEMPTS wrong guesses end it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="reset_pins")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"PIN for user {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class PhoneVerificationPin(TextedPin):
    """A PIN texted to a new account's phone at sign-up (or again on request): entering it
    proves the phone is the holder's and verifies the account. Valid
    PHONE_VERIFICATION_PIN_MINUTES, ended by PHONE_VERIFICATION_MAX_ATTEMPTS wrong guesses
    (users.accounts.verification)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verification_pins")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"Verification PIN for user {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class SignInLink(models.Model):
    """A link that lets its holder into their account without a password: texted to the
    account's phone, or made by an admin to pass on by hand (users.credentials.links). The token in
    the link is Django's password-reset token, bound to this row (the account's newest link), so
    a newer link voids this one; `used_at` makes it single-use."""

    class Purpose(models.TextChoices):
        INVITE = "invite", "Set a first password"
        CONFIRM = "confirm", "Confirm the phone number"
        RESET = "reset", "Choose a new password"

    class Via(models.TextChoices):
        SMS = "sms", "Texted"
        HAND = "hand", "Made by an admin to pass on by hand"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_in_links")
    purpose = models.CharField(max_length=7, choices=Purpose.choices)
    via = models.CharField(max_length=4, choices=Via.choices, default=Via.SMS)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} link for user {self.user_id} ({self.via})"


class PasswordChange(models.Model):
    """Each time a password was set: whose, by whom (None: the command line), when, how, and
    until when it signs in when it is temporary (set by someone other than the holder)."""

    class Kind(models.TextChoices):
        CREATED = "CREATED", "Set when the account was created"
        RESET = "RESET", "Reset by someone else"
        CHANGED = "CHANGED", "Changed by the holder"
        PIN_RESET = "PIN_RESET", "Reset by the holder with an SMS PIN"
        SIGNUP = "SIGNUP", "Chosen by the holder at sign-up"
        LINK = "LINK", "Chosen by the holder through a sign-in link"
        COMMAND = "COMMAND", "Set from the command line"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_changes")
    set_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    temporary = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"Password of user {self.user_id}: {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class RateCounter(models.Model):
    """A count of attempts in a fixed window (users.accounts.rate_limits): sign-ins per address,
    wrong passwords per account. One atomic statement adds each attempt, so parallel requests
    cannot read the same count. The key is a digest: no phone or email is stored."""

    key = models.CharField(max_length=64, primary_key=True)
    count = models.PositiveIntegerField()
    expires_at = models.FloatField(help_text="Unix time at which the window ends.")

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.key[:12]}: {self.count}"
