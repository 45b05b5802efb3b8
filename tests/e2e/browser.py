"""What the browser tests share: Debian's Chromium, headless, driven by Playwright's sync API."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous waits for a slow machine; nothing here measures speed.
WAIT_MS = 30_000


@contextmanager
def browser_page(**context_options) -> Iterator:
    """A page of a new browser context with these options (viewport, downloads, touch)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(**context_options)
        context.set_default_timeout(WAIT_MS)
        sync_api.expect.set_options(timeout=WAIT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # Code run under Playwright's sync API gets database connections of its own (its
            # greenlets carry their own context): closed, so the test database can be dropped.
            connections.close_all()
