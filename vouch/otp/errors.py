from django.utils.translation import gettext_lazy as _

from vouch.core.errors import ApplicationError


class RegionNotAllowed(ApplicationError):
    code = "region_not_allowed"
    message = _("Codes cannot be sent to numbers of this country.")


class DeliveryFailed(ApplicationError):
    code = "delivery_failed"
    status = 503
    message = _("The code could not be sent. Please try again in a moment.")


class InvalidCode(ApplicationError):
    code = "invalid_code"
    message = _("The code is wrong.")
    extra_example = {"attempts_left": 4}


class AttemptsExceeded(ApplicationError):
    code = "attempts_exceeded"
    message = _("Too many wrong codes. Ask for a new code.")


class CodeExpired(ApplicationError):
    code = "code_expired"
    message = _("The code has expired. Ask for a new code.")


class NoActiveCode(ApplicationError):
    code = "no_active_code"
    message = _("There is no active code for this number. Ask for a code first.")


class EmailMismatch(ApplicationError):
    code = "email_mismatch"
    message = _("This e-mail address does not sign in to this phone number. Sign in by SMS.")


class UserInactive(ApplicationError):
    code = "user_inactive"
    status = 403
    message = _("This account is disabled.")


class CodeMalformed(ApplicationError):
    code = "code_malformed"
    field = "code"
    message = _("Enter the digits of the code.")


class ChannelUnknown(ApplicationError):
    code = "channel_unknown"
    field = "channel"
    # DRF's own wording (and catalogue), which the API has always answered.
    message = _('"{input}" is not a valid choice.')

    def __init__(self, channel: str) -> None:
        super().__init__(str(self.message).format(input=channel))

    @classmethod
    def example_message(cls) -> str:
        return str(cls.message).format(input="pigeon")


class ChannelSwitchedOff(ApplicationError):
    code = "channel_switched_off"
    field = "channel"
    message = _("This channel is switched off.")


class EmailRequired(ApplicationError):
    code = "email_required"
    field = "email"
    message = _("An e-mail address is required.")
