"""GET /api/health/: is this process able to serve? No auth; never cached."""

import logging

import psutil
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from users.api import errors as exceptions
from users.imports import selectors

logger = logging.getLogger(__name__)

SERVICE = "primepre"


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("[HEALTH] database=down error=%s", type(error).__name__)
        return "down"
    return "ok"


def _tasks() -> dict:
    summary = {"backend": settings.TASKS["default"]["BACKEND"].rsplit(".", 1)[-1]}
    try:
        return summary | selectors.import_queue_summary()
    except DatabaseError:
        return summary


@never_cache
def health(request):
    if request.method not in ("GET", "HEAD"):
        response = exceptions.json_error_response(
            exceptions.METHOD_NOT_ALLOWED, "Only GET is allowed here.", 405
        )
        response["Allow"] = "GET, HEAD"
        return response
    database = _database()
    healthy = database == "ok"
    body = {
        "status": "ok" if healthy else "unavailable",
        "service": SERVICE,
        "database": database,
        "tasks": _tasks() if healthy else {},
        "memory_mb": round(psutil.Process().memory_info().rss / 1024 / 1024, 1),
        "version": settings.VERSION,
    }
    return JsonResponse(body, status=200 if healthy else 503)


class HealthCheckMiddleware:
    """Answers GET /api/health/ before the host check and the HTTPS redirect: a platform's health
    checker calls the instance by its internal address, over plain HTTP."""

    PATH = "/api/health/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == self.PATH:
            return health(request)
        return self.get_response(request)
