"""The Django admin, for staff who do not use the SPA: customers (list, search, filters, import,
export) and import jobs for every staff member, read only (customers change through the API's
services, which apply every rule); every account for super admins. Importing this package
registers them all (Django's admin autodiscovery imports it)."""

from users.admin import accounts, customers, import_jobs, site  # noqa: F401
