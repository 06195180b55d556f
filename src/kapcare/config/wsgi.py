"""WSGI entry point for gunicorn (`kapcare serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapcare.config.settings")
application = get_wsgi_application()
