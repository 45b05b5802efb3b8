"""Pages of a list: {count, next, previous, results}, ?page=N&page_size=M."""

import io
import json
from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import HttpResponse
from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from users.api.errors import VALIDATION_ERROR, ApplicationError

# The SPA's export asks for every customer in one page of 10,000 (SPA-CONTRACT.md 4.3).
MAX_PAGE_SIZE = 10_000
INVALID_PAGE = "Page numbers are whole numbers from 1."


def _page_number(value: str | None) -> int:
    if value in (None, ""):
        return 1
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ApplicationError(
            VALIDATION_ERROR,
            INVALID_PAGE,
            errors={"page": [{"message": INVALID_PAGE, "code": "invalid"}]},
        )
    return number


class PageNumberPagination(pagination.PageNumberPagination):
    """At most MAX_PAGE_SIZE rows a page (default PAGE_SIZE). A page past the last one is
    empty and still carries the count, from which a client (the SPA does) steps back a page.

    The page is a slice of the queryset, not evaluated here: json_response writes rows as they
    are read, so a page of 10,000 holds its JSON text in memory, not 10,000 objects."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> QuerySet:
        self.request = request
        self.size = self.get_page_size(request)
        self.number = _page_number(request.query_params.get(self.page_query_param))
        self.count = queryset.count()
        start = (self.number - 1) * self.size
        if start >= self.count:
            # Past the end, with no query: a huge page number must not reach the database.
            return queryset.none()
        return queryset[start : start + self.size]

    def get_next_link(self) -> str | None:
        if self.number * self.size >= self.count:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number == 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data) -> Response:
        return Response(self._envelope(data))

    def _envelope(self, results) -> dict:
        return {
            "count": self.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": results,
        }

    def json_response(self, rows: Iterable[dict]) -> HttpResponse:
        """The page as JSON text written row by row (the same bytes DRF's renderer makes)."""
        head = _json(self._envelope([]))
        body = io.BytesIO()
        body.write(head[: -len(b"[]}")] + b"[")
        for index, row in enumerate(rows):
            if index:
                body.write(b",")
            body.write(_json(row))
        body.write(b"]}")
        return HttpResponse(body.getvalue(), content_type="application/json")


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
