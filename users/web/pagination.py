"""Pages of a list: {count, next, previous, results}, ?page=N&page_size=M."""

import io
import json
import sys
from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import HttpResponse
from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from users.errors import VALIDATION_ERROR, ApplicationError

# The SPA's export asks for every customer in one page of 10,000 (SPA-CONTRACT.md 4.3).
MAX_PAGE_SIZE = 10_000
# The schemas of ?page= and ?page_size=.
PAGE = {"type": "integer", "minimum": 1}
PAGE_SIZE = {"type": "integer", "minimum": 1}
INVALID_PAGE = "Page numbers are whole numbers from 1."
INVALID_PAGE_SIZE = "A page size is a whole number from 1."


def positive_int_param(
    value: str | None, *, name: str, default: int, most: int | None = None
) -> int:
    """A whole-number query parameter from 1, read as `most` above it; absent: `default`.
    Anything else ("", "0", "1.5", "false") is a 400 naming the parameter: read as the default
    instead, a client would be answered for a page it did not ask for."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()):
        number = 0
    else:
        # Past any page that exists, without int() on thousands of digits (which refuses them).
        number = int(value) if len(value) <= 18 else sys.maxsize
    if number < 1:
        message = INVALID_PAGE if most is None else INVALID_PAGE_SIZE
        raise ApplicationError(
            VALIDATION_ERROR, message, errors={name: [{"message": message, "code": "invalid"}]}
        )
    return number if most is None else min(number, most)


class PageNumberPagination(pagination.PageNumberPagination):
    """At most MAX_PAGE_SIZE rows a page (default PAGE_SIZE). A page past the last one is
    empty and still carries the count, from which a client (the SPA does) steps back a page.

    The page is a slice of the queryset, not evaluated here: json_response writes rows as they
    are read, so a page of 10,000 holds its JSON text in memory, not 10,000 objects."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> QuerySet:
        self.request = request
        self.size = positive_int_param(
            request.query_params.get(self.page_size_query_param),
            name=self.page_size_query_param,
            default=self.page_size,
            most=self.max_page_size,
        )
        self.number = positive_int_param(
            request.query_params.get(self.page_query_param),
            name=self.page_query_param,
            default=1,
        )
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

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """?page= and ?page_size= as this paginator reads them: whole numbers from 1."""
        return [
            {"name": self.page_query_param, "required": False, "in": "query", "schema": PAGE},
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "schema": PAGE_SIZE,
                "description": f"At most {self.max_page_size:,}; a larger one is read as that.",
            },
        ]

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
