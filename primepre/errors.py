"""Django-level error pages: the JSON envelope under /api/, Django's own pages elsewhere."""

from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from users import errors as codes
from users.web.errors import MESSAGES, json_error_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


# Exempt: it answers every method, and a POST to an unknown path is a 404, not a CSRF failure.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return json_error_response(codes.NOT_FOUND, "No such endpoint.", 404)


def bad_request(request, exception=None):
    if _is_api(request):
        return json_error_response(codes.BAD_REQUEST, "Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return json_error_response(codes.PERMISSION_DENIED, MESSAGES[codes.PERMISSION_DENIED], 403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return json_error_response(codes.SERVER_ERROR, MESSAGES[codes.SERVER_ERROR], 500)
    return defaults.server_error(request)
