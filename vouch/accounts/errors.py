from django.utils.translation import gettext_lazy as _

from vouch.core.errors import ApplicationError


class PhoneTaken(ApplicationError):
    code = "phone_taken"
    field = "phone"
    message = _("A user with this phone number already exists.")


class TokenNotValid(ApplicationError):
    code = "token_not_valid"
    status = 401
    message = _("Token is invalid or expired.")


class NotSignedIn(ApplicationError):
    """A request that needs a signed-in user has none (the views' permissions stop it first)."""

    code = "not_authenticated"
    status = 401
    # DRF's own wording (and catalogue), as its NotAuthenticated answers.
    message = _("Authentication credentials were not provided.")
