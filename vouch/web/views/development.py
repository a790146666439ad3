"""The development outbox: the messages the development backends "sent", while DEBUG is on."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vouch.delivery.selectors import messages_recent

OUTBOX_SIZE = 50


@require_GET
@never_cache
def dev_outbox(request: HttpRequest) -> HttpResponse:
    """
    Show the newest messages with their text, so a developer can read the codes that the
    development backends "sent". DEBUG is read per request: the page is a 404 in production.
    """
    if not settings.DEBUG:
        raise Http404
    return render(request, "web/dev_outbox.html", {"outbox": messages_recent(limit=OUTBOX_SIZE)})
