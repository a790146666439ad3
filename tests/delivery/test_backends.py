from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured

import vouch.delivery
from vouch.delivery.backends import console, dummy, filebased, get_connection, locmem
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.message import SmsMessage


class RecordingBackend(BaseSmsBackend):
    """A backend that remembers how it was used."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def open(self):
        self.calls.append("open")

    def close(self):
        self.calls.append("close")

    def send_messages(self, messages):
        self.calls.append("send")
        return len(messages)


@pytest.mark.parametrize(
    ("alias", "klass"),
    [
        ("console", console.SmsBackend),
        ("file", filebased.SmsBackend),
        ("locmem", locmem.SmsBackend),
        ("dummy", dummy.SmsBackend),
    ],
)
def test_aliases_load_their_backend(alias, klass, settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path)
    assert type(get_connection(alias)) is klass


def test_dotted_path_loads_that_class():
    backend = get_connection("tests.delivery.test_backends.RecordingBackend")
    assert isinstance(backend, RecordingBackend)


def test_setting_chooses_the_backend_by_default(settings):
    settings.SMS_BACKEND = "dummy"
    assert type(get_connection()) is dummy.SmsBackend
    settings.SMS_BACKEND = "tests.delivery.test_backends.RecordingBackend"
    assert type(get_connection()) is RecordingBackend


@pytest.mark.parametrize("name", ["carrier-pigeon", "twillio", "LOCMEM"])
def test_unknown_alias_is_a_configuration_error(name):
    with pytest.raises(ImproperlyConfigured):
        get_connection(name)


def test_fail_silently_is_passed_on():
    assert get_connection("dummy", fail_silently=True).fail_silently is True


def test_file_backend_writes_one_file_per_message(settings, tmp_path):
    target = tmp_path / "sms"
    settings.SMS_FILE_PATH = str(target)
    messages = [
        SmsMessage(to="+79123456789", body="Your code is 123456.\n\n@localhost #123456"),
        SmsMessage(to="+79990000002", body="Second 654321"),
    ]
    assert get_connection("file").send_messages(messages) == 2

    files = sorted(p for p in target.iterdir() if p.is_file())
    assert len(files) == 2
    contents = {p.read_text(encoding="utf-8") for p in files}
    assert contents == {
        "+79123456789\nYour code is 123456.\n\n@localhost #123456\n",
        "+79990000002\nSecond 654321\n",
    }


def test_file_backend_first_line_is_e164_and_the_rest_is_the_text(tmp_path):
    backend = get_connection("file", file_path=str(tmp_path))
    backend.send_messages([SmsMessage(to="+79123456789", body="line one\nline two")])
    (written,) = list(tmp_path.iterdir())
    first, rest = written.read_text(encoding="utf-8").split("\n", 1)
    assert first == "+79123456789"
    assert rest.rstrip("\n") == "line one\nline two"


def test_file_backend_refuses_a_path_that_is_a_file(tmp_path):
    not_a_dir = tmp_path / "plain.txt"
    not_a_dir.write_text("x")
    with pytest.raises(ImproperlyConfigured):
        get_connection("file", file_path=str(not_a_dir))


def test_console_backend_writes_to_the_given_stream():
    stream = io.StringIO()
    sent = get_connection("console", stream=stream).send_messages(
        [SmsMessage(to="+79123456789", body="Your code is 123456.")]
    )
    assert sent == 1
    assert "+79123456789" in stream.getvalue()
    assert "Your code is 123456." in stream.getvalue()


def test_console_backend_with_nothing_to_send():
    stream = io.StringIO()
    assert get_connection("console", stream=stream).send_messages([]) == 0
    assert stream.getvalue() == ""


def test_locmem_backend_appends_to_the_outbox():
    message = SmsMessage(to="+79123456789", body="hello")
    assert get_connection("locmem").send_messages([message]) == 1
    assert vouch.delivery.outbox == [message]
    get_connection("locmem").send_messages([SmsMessage(to="+79123456789", body="again")])
    assert [m.body for m in vouch.delivery.outbox] == ["hello", "again"]


def test_dummy_backend_reports_success_and_keeps_nothing():
    assert get_connection("dummy").send_messages([SmsMessage(to="+79123456789", body="x")]) == 1
    assert vouch.delivery.outbox == []


def test_context_manager_opens_and_closes():
    backend = RecordingBackend()
    with backend as connection:
        assert connection is backend
        connection.send_messages([SmsMessage(to="+79123456789", body="x")])
    assert backend.calls == ["open", "send", "close"]


def test_context_manager_closes_after_an_error():
    backend = RecordingBackend()
    with pytest.raises(RuntimeError), backend:
        raise RuntimeError("boom")
    assert backend.calls == ["open", "close"]


def test_messages_get_unique_ids():
    ids = {SmsMessage(to="+79123456789", body="x").message_id for _ in range(100)}
    assert len(ids) == 100
