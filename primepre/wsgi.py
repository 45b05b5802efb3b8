import os

from django.core.wsgi import get_wsgi_application

from primepre.body_limit import BodySizeLimit
from users.messaging.sms import warn_if_disabled

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "primepre.settings")

# Each path's body limit (primepre.body_limit.BodyLimit), before Django reads a byte.
application = BodySizeLimit(get_wsgi_application())

# Once per serving process (a gunicorn worker, runserver), not for every manage.py command.
warn_if_disabled()
