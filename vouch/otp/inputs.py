"""
The rules of the sign-in's input, in one place: the services apply them, and both front ends
(the API's serializers, the pages' forms) only parse types and lengths before calling them.
"""

from __future__ import annotations

import re
import unicodedata

from vouch.otp.app_settings import otp_settings
from vouch.otp.errors import ChannelSwitchedOff, ChannelUnknown, CodeMalformed, EmailRequired
from vouch.otp.models import Channel

CODE_MIN_DIGITS = 4
CODE_MAX_DIGITS = 10
_CODE_SEPARATORS = re.compile(r"[\s-]")


def code_normalize(raw: str) -> str:
    """
    Return the digits of a typed code (spaces and dashes dropped) in ASCII, whatever script a
    keyboard typed them in ("١٢٣٤٥٦" is 123456), or raise CodeMalformed.
    """
    digits = _CODE_SEPARATORS.sub("", raw)
    if not digits.isdecimal() or not CODE_MIN_DIGITS <= len(digits) <= CODE_MAX_DIGITS:
        raise CodeMalformed()
    return "".join(str(unicodedata.decimal(digit)) for digit in digits)


def channel_resolve(channel: str | None) -> str:
    """
    The channel to send a code by: the default one when none is named (None), else the named
    one if it exists and is switched on. Raise ChannelUnknown or ChannelSwitchedOff.
    """
    if channel is None:
        return otp_settings.DEFAULT_CHANNEL
    if channel not in Channel.values:
        raise ChannelUnknown(channel)
    if channel not in otp_settings.CHANNELS:
        raise ChannelSwitchedOff()
    return channel


def email_for_channel(*, channel: str, email: str) -> str:
    """The address a code goes to by e-mail, required for that channel; raise EmailRequired."""
    if channel == Channel.EMAIL and not email:
        raise EmailRequired()
    return email


def email_key(email: str) -> str:
    """An address as it is compared and counted: trimmed, in lower case."""
    return email.strip().lower()
