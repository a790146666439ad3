"""
The address guard: deliveries reach public addresses only, checked after DNS resolution on
the connection itself, unless WEBHOOK_ALLOW_PRIVATE_NETWORKS allows the rest.
"""

from __future__ import annotations

import socket

import pytest
from django.db import transaction

from vouch.webhooks.guard import AddressRefused, address_allowed, guarded_connect
from vouch.webhooks.models import Delivery
from vouch.webhooks.services import deliveries_deliver_due, event_record

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # link-local: cloud metadata
    "0.0.0.0",  # noqa: S104
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "2001:db8::1",  # documentation
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    assert address_allowed(address)


def test_the_setting_allows_every_address(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    assert all(address_allowed(address) for address in REFUSED)


def test_a_name_is_checked_by_the_address_it_resolves_to(settings, httpserver):
    # "localhost" resolves to 127.0.0.1 (and ::1): refused, though the name says nothing.
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(AddressRefused):
        guarded_connect("localhost", httpserver.port, 5)
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    guarded_connect("127.0.0.1", httpserver.port, 5).close()


def test_the_connection_goes_to_the_address_that_was_checked(settings, monkeypatch):
    # A resolver that answers differently on a second lookup (DNS rebinding) is asked once.
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    answers = iter(["93.184.215.14", "127.0.0.1"])
    lookups = []
    connected = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    class FakeSocket:
        def __init__(self, *args):
            pass

        def settimeout(self, timeout):
            pass

        def connect(self, address):
            connected.append(address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "socket", FakeSocket)
    guarded_connect("rebinding.example", 443, 5)
    assert lookups == ["rebinding.example"]
    assert connected == [("93.184.215.14", 443)]


@pytest.mark.django_db(transaction=True)
def test_a_delivery_to_a_loopback_receiver_is_refused_without_the_setting(
    settings, httpserver, make_endpoint
):
    make_endpoint(url=httpserver.url_for("/hook").replace("localhost", "127.0.0.1"))
    make_endpoint(url=httpserver.url_for("/hook").replace("127.0.0.1", "localhost"))
    httpserver.expect_request("/hook").respond_with_data("ok")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False  # an endpoint stored while it was on
    with transaction.atomic():
        event_record(type="user.deleted", data={"user": {"id": 1}})
    assert deliveries_deliver_due() == 2
    assert httpserver.log == []
    errors = set(Delivery.objects.values_list("last_error", flat=True))
    assert all(error.startswith("address refused:") for error in errors), errors
    assert all("not a public address" in error for error in errors)


@pytest.mark.django_db(transaction=True)
def test_an_ipv6_loopback_receiver_is_refused_too(settings, make_httpserver_ipv6, make_endpoint):
    make_endpoint(url=f"http://[::1]:{make_httpserver_ipv6.port}/hook")
    make_httpserver_ipv6.expect_request("/hook").respond_with_data("ok")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with transaction.atomic():
        event_record(type="user.deleted", data={"user": {"id": 1}})
    deliveries_deliver_due()
    assert make_httpserver_ipv6.log == []
    assert Delivery.objects.get().last_error.startswith("address refused: ::1")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    Delivery.objects.update(next_attempt_at=Delivery.objects.get().created_at)
    deliveries_deliver_due()
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
