import pytest

from tests.conftest import missing_service
from tests.e2e.browser import CHROMIUM


@pytest.fixture(autouse=True)
def _browser_here():
    if not CHROMIUM.exists():
        missing_service(f"{CHROMIUM} is missing: apt-get install chromium")
