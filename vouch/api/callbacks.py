"""
Delivery-status callbacks from SMS providers. A plain Django view, not DRF: signatures are
computed over the raw request, which must reach the provider's backend untouched.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from vouch.api.errors import error_body
from vouch.api.parsers import FORM_LIMITS
from vouch.core.errors import ApplicationError
from vouch.delivery.services import status_callback_handle

UNREADABLE_BODY = (MultiPartParserError, *FORM_LIMITS)


def _body_readable(request: HttpRequest) -> bool:
    """
    Read the body and its form fields once, here, where a body that cannot be read is the
    client's error: the backends then find both in memory, whichever they look at.
    """
    try:
        request.body  # noqa: B018 (kept by Django; request.POST is then parsed from it)
        request.POST  # noqa: B018
    except UNREADABLE_BODY:
        return False
    return True


@csrf_exempt
@require_POST
def delivery_status(request: HttpRequest, provider: str, token: str = "") -> HttpResponse:
    if not _body_readable(request):
        detail = _("The request body cannot be read.")
        return JsonResponse(error_body(400, detail, "parse_error"), status=400)
    try:
        handled = status_callback_handle(provider=provider, request=request, token=token)
    except ApplicationError as error:
        return JsonResponse(error_body(error.status, error.detail, error.code), status=error.status)
    if handled.ack is not None:
        return HttpResponse(handled.ack, content_type="text/plain")
    return JsonResponse({"updated": handled.updated})
