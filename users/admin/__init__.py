"""The Django admin, for staff who do not use the SPA: customers (list, search, filters, import,
export) and import jobs for every staff member, read only (customers change through the API's
services, which apply every rule), and the column mappings remembered (to forget one); every
account for super admins. Importing this package registers them all (Django's admin
autodiscovery imports it)."""

from users.admin import (  # noqa: F401
    accounts,
    customers,
    import_jobs,
    remembered_mappings,
    site,
)
