"""The SPA's user list, above all its Excel export's one page of 10,000: time and memory.

    .venv/bin/python bench/bench_user_list.py [--customers 100000]

Seeds customers in a scratch Postgres database (BENCH_DATABASE_NAME). In-process rows each run
in a fresh process that renders one page of 10,000 and nothing else, its RSS sampled every
10 ms (growth = peak minus the RSS just before): the baseline the way a DRF list usually does
it (model instances through a serializer, rendered whole), then the list endpoint's own way
(values() rows written as JSON text). The API rows ask the real server (gunicorn with
gunicorn_config.py) for the SPA's requests, growth being the web process tree's.
"""

import argparse
import json
import os
import sys
import textwrap
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_export import SEED, run_snippet
from bench.common import RssSampler, login, prepared_database, print_table, running_stack

TARGET_SECONDS = 2.0
TARGET_RSS_MB = 30.0
PAGE = 10_000

RENDER = textwrap.dedent(
    """
    import json, os, time
    import django
    django.setup()
    from django.db import connection
    from django.test import RequestFactory
    from rest_framework.renderers import JSONRenderer
    from rest_framework.request import Request
    from bench.common import RssSampler
    from users.web.pagination import PageNumberPagination
    from users.customers import selectors, serializers
    from users.customers.selectors import Scope
    from users.models import Role, User

    kind = {kind!r}
    actor = User.objects.filter(user_role=Role.SUPER_ADMIN).first()
    filters = {{"user_role": "CUSTOMER", "ordering": "-date_joined"}}
    query = {{**filters, "page_size": {page}}}
    request = Request(RequestFactory(HTTP_HOST="127.0.0.1").get("/api/auth/admin/users/", query))
    connection.ensure_connection()
    sampler = RssSampler([os.getpid()], period=0.01)
    base = sampler.current()
    with sampler:
        started = time.monotonic()
        users = selectors.user_list(actor=actor, scope=Scope.USERS, filters=filters)
        paginator = PageNumberPagination()
        if kind == "baseline":
            page = list(paginator.paginate_queryset(users, request))
            results = serializers.UserSerializer(page, many=True).data
            size = len(JSONRenderer().render({{"count": paginator.count, "results": results}}))
        else:
            page = paginator.paginate_queryset(users.values(*serializers.USER_VALUES), request)
            rows = (serializers.user_json(row) for row in page.iterator(chunk_size=1000))
            size = len(paginator.json_response(rows).content)
        seconds = time.monotonic() - started
    peak = max(sampler.peak, sampler.current())
    print(json.dumps({{"seconds": seconds, "bytes": size, "growth_mb": peak - base}}))
    """
)

CLIENTS_PAGE = {"user_role": "CUSTOMER", "ordering": "-date_joined", "page": 1, "page_size": 25}
EXPORT_PAGE = {"user_role": "CUSTOMER", "ordering": "-date_joined", "page_size": PAGE}


def render_in_process(kind: str, env: dict) -> dict:
    code = RENDER.format(kind=kind, page=PAGE)
    return json.loads(run_snippet(code, env).splitlines()[-1])


def through_api(base: str, auth: dict, web_pid: int, params: dict) -> tuple[dict, int]:
    headers = {**auth, "Content-Type": "application/json"}
    rest = RssSampler([web_pid]).current()
    with RssSampler([web_pid], period=0.01) as sampler:
        started = time.monotonic()
        response = requests.get(
            base + "/api/auth/admin/users/", headers=headers, params=params, timeout=120
        )
        seconds = time.monotonic() - started
    assert response.status_code == 200, response.status_code
    rows = len(response.json()["results"])
    return {
        "seconds": seconds,
        "bytes": len(response.content),
        "growth_mb": sampler.peak - rest,
    }, rows


def row(scenario: str, rows: int, result: dict, *, target: bool = True) -> list:
    met = result["seconds"] < TARGET_SECONDS and result["growth_mb"] < TARGET_RSS_MB
    return [
        scenario,
        f"{rows:,}",
        f"{result['seconds']:.2f}",
        f"{result['bytes'] / 2**20:.1f}",
        f"{result['growth_mb']:.1f}",
        ("yes" if met else "NO") if target else "-",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()

    env, password = prepared_database()
    seeded = int(run_snippet(SEED.format(count=args.customers), env).splitlines()[-1])
    assert seeded == args.customers, seeded

    table = [
        row(
            "baseline: model instances + DRF serializer",
            PAGE,
            render_in_process("baseline", env),
            target=False,
        ),
        row("primepre: values() rows as JSON text", PAGE, render_in_process("primepre", env)),
    ]
    with running_stack(env) as (base, processes):
        auth = login(base, password)
        web_pid = processes["web"].pid
        # The first request of a worker imports the views: not part of a list.
        through_api(base, auth, web_pid, {**CLIENTS_PAGE, "search": "no such customer"})
        for scenario, params in (
            ("API: the Excel export's page_size=10000", EXPORT_PAGE),
            ("API: the Clients page, page_size=25", CLIENTS_PAGE),
            ("API: search by phone 024 100 0042", {**CLIENTS_PAGE, "search": "024 100 0042"}),
            ("API: the Admins page (no parameters)", {}),
        ):
            result, rows = through_api(base, auth, web_pid, params)
            table.append(row(scenario, rows, result))

    print_table(
        f"User list benchmark (Postgres, {args.customers:,} customers, {os.cpu_count()} cores; "
        f"targets: < {TARGET_SECONDS:.0f} s and RSS growth < {TARGET_RSS_MB:.0f} MB)",
        ["scenario", "rows", "seconds", "body MB", "peak RSS growth MB", "met"],
        table,
    )


if __name__ == "__main__":
    main()
