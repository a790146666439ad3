from django.utils.translation import gettext_lazy as _

from vouch.core.errors import ApplicationError


class DeliveryError(Exception):
    """A backend could not hand a message over. `temporary` errors are worth retrying."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


class CallbackRejected(ApplicationError):
    """A status callback that is not signed the way its provider signs them."""

    code = "callback_rejected"
    status = 403
    message = _("The callback is not authentic.")


class CallbackNotSupported(ApplicationError):
    code = "not_found"
    status = 404
    message = _("Not found.")
