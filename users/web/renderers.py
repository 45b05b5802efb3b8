"""The API's JSON renderer."""

import logging
from collections.abc import Mapping
from typing import Any

from rest_framework import renderers

from users.excel.cells import finite

logger = logging.getLogger(__name__)


class JSONRenderer(renderers.JSONRenderer):
    """DRF's renderer, which refuses NaN and infinities (JSON has none) with a ValueError: a 500
    after the view's work is done, such as a preview stored and its upload_id never sent. Such a
    number is sent as null instead, and logged with the path (not the data) so it can be traced
    to where it came from."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except ValueError:
            request = (renderer_context or {}).get("request")
            logger.warning("[API-RENDER] non_finite_number path=%s", getattr(request, "path", "?"))
            # A ValueError of another cause is raised again by this second attempt.
            return super().render(finite(data, None), accepted_media_type, renderer_context)
