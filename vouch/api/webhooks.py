"""
Staff manage the host app's webhook endpoints (docs/integrate.md, "Receive events"): thin
views over `vouch.webhooks.services`. Who may call them is WEBHOOK_PERMISSIONS, in this one place.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from vouch.api.fields import StrictBooleanField, StrictCharField
from vouch.api.pagination import UserPagination
from vouch.api.permissions import StaffOrApiKeyScope
from vouch.api.schema import ERRORS
from vouch.webhooks.models import Delivery, Endpoint
from vouch.webhooks.services import (
    EVENT_TYPES,
    delivery_replay,
    endpoint_create,
    endpoint_update,
)

WEBHOOK_PERMISSIONS = [StaffOrApiKeyScope.of("webhooks")]


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))
    disabled_reason = serializers.CharField(
        help_text=_("Why the endpoint was switched off; empty while it is on.")
    )

    class Meta:
        model = Endpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "event_types",
            "active",
            "description",
            "disabled_reason",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text=_("The signing secret (`whsec_...`): shown this once, keep it.")
    )

    class Meta(EndpointSerializer.Meta):
        fields = (*EndpointSerializer.Meta.fields, "secret")
        read_only_fields = fields


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}, "minItems": 1}
)
class EventTypesField(serializers.JSONField):
    """A list of event types, as given: the service checks it (`event_type_unknown`)."""


class EndpointInputSerializer(serializers.Serializer):
    url = StrictCharField(
        max_length=2000,
        help_text=_(
            "Where events are POSTed: https on a public host (plain http and private "
            "addresses only with WEBHOOK_ALLOW_PRIVATE_NETWORKS)."
        ),
    )
    event_types = EventTypesField(help_text=_("One or more of the event types."))
    active = StrictBooleanField(required=False, default=True)
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=200)


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(help_text=_("The `webhook-id` of every attempt."))
    event_type = serializers.CharField(source="event.type")
    payload = serializers.JSONField(source="event.payload", help_text=_("The event's `data`."))

    class Meta:
        model = Delivery
        fields = (
            "id",
            "event_id",
            "event_type",
            "payload",
            "endpoint_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
        )
        read_only_fields = fields


_CREATE_EXAMPLE = OpenApiExample(
    "An endpoint for sign-ups",
    value={
        "url": "https://app.example.com/hooks/vouch",
        "event_types": ["user.created", "invite.activated"],
        "description": "sign-ups",
    },
    request_only=True,
)
_PATCH_EXAMPLE = OpenApiExample(
    "Switch an endpoint back on", value={"active": True}, request_only=True
)


class EndpointListView(GenericAPIView):
    """Staff: the webhook endpoints; POST adds one and answers its secret, once."""

    permission_classes = WEBHOOK_PERMISSIONS
    serializer_class = EndpointSerializer
    pagination_class = UserPagination

    def get_queryset(self) -> QuerySet[Endpoint]:
        return Endpoint.objects.order_by("id")

    @extend_schema(
        operation_id="webhooks_endpoints_list",
        responses={200: EndpointSerializer(many=True), **ERRORS(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_endpoints_create",
        request=EndpointInputSerializer,
        examples=[_CREATE_EXAMPLE],
        responses={201: EndpointCreatedSerializer, **ERRORS(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        body = EndpointInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = endpoint_create(**body.validated_data)
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(GenericAPIView):
    """Staff: one webhook endpoint (its secret is never shown again)."""

    permission_classes = WEBHOOK_PERMISSIONS
    serializer_class = EndpointSerializer
    queryset = Endpoint.objects.all()
    http_method_names = ["get", "patch", "delete", "options"]

    @extend_schema(
        operation_id="webhooks_endpoints_retrieve",
        responses={200: EndpointSerializer, **ERRORS(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(EndpointSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="webhooks_endpoints_partial_update",
        request=EndpointInputSerializer(partial=True),
        examples=[_PATCH_EXAMPLE],
        responses={200: EndpointSerializer, **ERRORS(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = self.get_object()
        body = EndpointInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        endpoint = endpoint_update(endpoint=endpoint, data=body.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhooks_endpoints_destroy",
        responses={204: None, **ERRORS(401, 403, 404)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointDeliveriesView(GenericAPIView):
    """Staff: an endpoint's deliveries, newest first; `?status=` filters them."""

    permission_classes = WEBHOOK_PERMISSIONS
    serializer_class = DeliverySerializer
    pagination_class = UserPagination

    @extend_schema(
        operation_id="webhooks_endpoints_deliveries",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                OpenApiParameter.QUERY,
                required=False,
                enum=Delivery.Status.values,
                description="Only deliveries in this status.",
            )
        ],
        responses={200: DeliverySerializer(many=True), **ERRORS(400, 401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        endpoint = get_object_or_404(Endpoint, pk=pk)
        deliveries = endpoint.deliveries.select_related("event").order_by("-id")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in Delivery.Status.values:
                raise serializers.ValidationError(
                    {"status": [_("Choose one of: %s.") % ", ".join(Delivery.Status.values)]}
                )
            deliveries = deliveries.filter(status=wanted)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class DeliveryReplayView(GenericAPIView):
    """Staff: send a delivery's event to its endpoint again, as a new delivery due now."""

    permission_classes = WEBHOOK_PERMISSIONS
    serializer_class = DeliverySerializer

    @extend_schema(
        operation_id="webhooks_deliveries_replay",
        request=None,
        responses={202: DeliverySerializer, **ERRORS(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        delivery = get_object_or_404(Delivery, pk=pk)
        replayed = delivery_replay(delivery=delivery)
        replayed = Delivery.objects.select_related("event").get(pk=replayed.pk)
        return Response(DeliverySerializer(replayed).data, status=status.HTTP_202_ACCEPTED)
