"""GET /api/health/: is this process able to serve? Never cached.

Anyone (the platform's checker) gets the status and the database's state; staff, with their
access token, also get the queue, the memory and the version."""

import logging

import psutil
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError

from users.errors import METHOD_NOT_ALLOWED
from users.imports import selectors
from users.web.errors import json_error_response
from users.web.permissions import is_staff

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


def _from_staff(request) -> bool:
    """Whether the request carries a staff member's valid access token.

    The view runs in HealthCheckMiddleware, before Django's and DRF's authentication, so the token
    is checked here. Any failure (no token, a bad one, a database that is down) is an anonymous
    caller: a health checker must never get a 401 for a header it did not mean to send."""
    if not request.META.get("HTTP_AUTHORIZATION"):
        return False
    try:
        found = JWTAuthentication().authenticate(request)
    except (APIException, TokenError, DatabaseError):
        return False
    return found is not None and is_staff(found[0])


@never_cache
def health(request):
    if request.method not in ("GET", "HEAD"):
        response = json_error_response(METHOD_NOT_ALLOWED, "Only GET is allowed here.", 405)
        response["Allow"] = "GET, HEAD"
        return response
    database = _database()
    healthy = database == "ok"
    body = {"status": "ok" if healthy else "unavailable", "database": database}
    if healthy and _from_staff(request):
        body = {
            "status": body["status"],
            "service": SERVICE,
            "database": database,
            "tasks": _tasks(),
            "memory_mb": round(psutil.Process().memory_info().rss / 1024 / 1024, 1),
            "version": settings.VERSION,
        }
    response = JsonResponse(body, status=200 if healthy else 503)
    patch_vary_headers(response, ["Authorization"])
    return response


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
