from django.utils.translation import gettext_lazy as _

from vouch.core.errors import ApplicationError


class InviteNotFound(ApplicationError):
    code = "invite_not_found"
    message = _("No invite code like this exists.")


class OwnInviteCode(ApplicationError):
    code = "own_invite_code"
    message = _("You cannot activate your own invite code.")


class InviteCycle(ApplicationError):
    code = "invite_cycle"
    message = _("This code belongs to someone you invited, directly or through others.")


class InviteAlreadyActivated(ApplicationError):
    code = "invite_already_activated"
    status = 409
    message = _("You have already activated an invite code.")
    extra_example = {"activated_invite_code": "A1B2C3"}


class FlagNotFound(ApplicationError):
    code = "not_found"
    status = 404
    message = _("No referral flag like this exists.")
