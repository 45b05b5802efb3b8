"""Compressed answers, for the views that choose them: the large JSON answers (an upload's
preview and its pages, an import's status, the customer list, the upload stats).

Opt-in, never by default, because of BREACH: the size of a compressed answer that holds a secret
beside text an attacker can make it reflect gives the secret away a byte at a time. So the
answers that carry one are never compressed: login and token refresh (the tokens), and the
admin's HTML pages (the CSRF token). Django's GZipMiddleware, which this applies per view, also
pads each compressed answer with random bytes (Heal The Breach), and skips answers under 200
bytes."""

from django.utils.decorators import method_decorator
from django.views.decorators.gzip import gzip_page

# A class decorator for an APIView: gzip when the client accepts it (Vary: Accept-Encoding).
compressed = method_decorator(gzip_page, name="dispatch")
