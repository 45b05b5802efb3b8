import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from primepre.body_limit import BodySizeLimit
from users.messaging.sms import warn_if_disabled

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "primepre.settings")

application = BodySizeLimit(
    get_wsgi_application(), limit_bytes=settings.IMPORT_MAX_FILE_BYTES + 64 * 1024
)

# Once per serving process (a gunicorn worker, runserver), not for every manage.py command.
warn_if_disabled()
