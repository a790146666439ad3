"""
Request fields that take JSON types at their word: a string field refuses a number, a boolean
field refuses `0` and `"true"`, an integer refuses `"1.0"`. DRF's own fields coerce these,
which makes the schema's `type` a suggestion; here it is the contract (docs/api.md). Form-encoded
bodies (the browsable API) carry only text, so there a boolean still reads `"true"`/`"false"`.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vouch.core.phones import InvalidPhone, phone_parse

_INTEGER = re.compile(r"-?[0-9]+")
EMAIL_MAX_LENGTH = 254


def _from_a_form(field: serializers.Field) -> bool:
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    """A string, and only a string (DRF's CharField also takes numbers)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH},
            {"type": "string", "enum": [""]},
        ]
    }
)
class StrictEmailField(serializers.EmailField):
    """An e-mail address, or `""` for none."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_MAX_LENGTH)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` in JSON; a form's text (`"true"`, `"on"`, ...) as DRF reads it."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and _from_a_form(self):
            return bool(super().to_internal_value(data))
        self.fail("invalid", input=data)
        raise AssertionError  # unreachable: fail() raises


class StrictIntegerField(serializers.IntegerField):
    """An integer: a JSON number without a fraction, or plain ASCII digits in a query string."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str) and not _INTEGER.fullmatch(data):
            self.fail("invalid")
        return int(super().to_internal_value(data))


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "description": "A phone number in any common written form; E.164 in responses.",
        "example": "+79123456789",
    }
)
class PhoneField(StrictCharField):
    """A phone number in any common written form in, E.164 out."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            return phone_parse(text)
        except InvalidPhone as error:
            raise serializers.ValidationError(str(error.detail), code=error.code) from None

    def to_representation(self, value: Any) -> str:
        return str(value)
