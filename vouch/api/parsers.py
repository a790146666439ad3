"""
DRF's parsers, with every way a body can fail to parse answered as 400 `parse_error`: JSON
nested deeper than Python's parser recurses, and forms past DATA_UPLOAD_MAX_NUMBER_FIELDS,
DATA_UPLOAD_MAX_NUMBER_FILES or DATA_UPLOAD_MAX_MEMORY_SIZE (which Django would report as a
suspicious operation: a 500 from inside a view, an error with a traceback in the log).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

FORM_LIMITS = (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig)
FORM_TOO_BIG = _("Form parse error - too many fields or files, or too much data.")


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from exc


class _WithinFormLimits:
    """A form parser whose bodies past Django's form limits are 400 `parse_error`."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)  # type: ignore[misc]
        except FORM_LIMITS as exc:
            raise ParseError(FORM_TOO_BIG) from exc


class FormParser(_WithinFormLimits, parsers.FormParser):
    pass


class MultiPartParser(_WithinFormLimits, parsers.MultiPartParser):
    pass
