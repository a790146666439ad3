from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from vouch.core.errors import ApplicationError


class EndpointUrlRefused(ApplicationError):
    code = "url_not_allowed"
    field = "url"
    message = _(
        "Enter an https URL of a public host (plain http and private addresses need "
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS)."
    )


class EventTypeUnknown(ApplicationError):
    code = "event_type_unknown"
    field = "event_types"
    message = _("Choose one or more of the known event types.")


class EndpointInactive(ApplicationError):
    code = "endpoint_inactive"
    status = 409
    message = _("The endpoint is not active: activate it first.")
