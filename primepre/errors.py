"""Django-level error pages: the JSON envelope under /api/, Django's own pages elsewhere."""

from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from users import errors as codes
from users.web.errors import MESSAGES, json_error_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


# Exempt: it answers every method, and a POST to an unknown path is a 404, not a CSRF failure.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    message = "No such endpoint."
    if _exists_with_a_slash(request):
        message += f" Did you mean {request.path}/ (with a trailing slash)?"
    return json_error_response(codes.NOT_FOUND, message, 404)


def _exists_with_a_slash(request) -> bool:
    """Every API path ends with a slash, and the catch-all above keeps Django's APPEND_SLASH
    from redirecting (the path resolves, to this view), so a client that left the slash off
    is told here instead of getting a bare 404."""
    if request.path_info.endswith("/"):
        return False
    try:
        match = resolve(request.path_info + "/", getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return match.func is not api_not_found


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
