"""Hand a text to the configured channel. Failures become DeliveryError, nothing else."""

from __future__ import annotations

import logging
import smtplib

from django.core.mail import send_mail

from vouch.core.phones import mask_email, mask_phone_for_log
from vouch.delivery.backends import get_connection
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage

logger = logging.getLogger(__name__)


def sms_send(*, to: str, body: str) -> str:
    """Send one SMS through SMS_BACKEND; return its message id."""
    message = SmsMessage(to=to, body=body)
    try:
        with get_connection() as connection:
            sent = connection.send_messages([message])
    except DeliveryError:
        logger.warning("SMS to %s failed", mask_phone_for_log(to), exc_info=True)
        raise
    if sent != 1:
        raise DeliveryError("The SMS backend did not accept the message.")
    logger.info("SMS %s sent to %s", message.message_id, mask_phone_for_log(to))
    return message.message_id


def email_send(*, to: str, subject: str, body: str) -> None:
    """Send one e-mail through Django's EMAIL_BACKEND."""
    try:
        send_mail(subject, body, None, [to], fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("E-mail to %s failed: %s", mask_email(to), type(exc).__name__)
        temporary = not isinstance(exc, smtplib.SMTPRecipientsRefused)
        raise DeliveryError("The e-mail could not be sent.", temporary=temporary) from exc
    logger.info("E-mail sent to %s", mask_email(to))
