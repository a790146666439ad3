from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vouch.core.phones import InvalidPhone, phone_parse


@extend_schema_field(OpenApiTypes.STR)
class PhoneField(serializers.CharField):
    """A phone number in any common written form in, E.164 out."""

    default_error_messages = {"invalid_phone": _("Enter a valid phone number.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            return phone_parse(text)
        except InvalidPhone:
            self.fail("invalid_phone")
            raise  # unreachable: fail() raises

    def to_representation(self, value: Any) -> str:
        return str(value)
