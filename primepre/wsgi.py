import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from primepre.body_limit import BodySizeLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "primepre.settings")

application = BodySizeLimit(
    get_wsgi_application(), limit_bytes=settings.IMPORT_MAX_FILE_BYTES + 64 * 1024
)
