"""The page at `/`: a server opened in a browser says where things are, instead of a 404."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>primepre</title></head>
<body>
<main>
<h1>primepre</h1>
<p>The customer base's backend: a JSON API under <code>/api/</code>.</p>
<ul>
<li><a href="/admin/">The admin</a>: customers, imports and exports (staff sign in here).</li>
<li><a href="/api/docs/">The API docs</a> (Swagger UI; <a href="/api/redoc/">ReDoc</a>,
<a href="/api/schema/">the OpenAPI schema</a>), for staff: sign in to the admin first.</li>
<li><a href="/api/health/">Health</a>: whether the server and its database answer.</li>
</ul>
</main>
</body>
</html>
"""


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)
