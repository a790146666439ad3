from __future__ import annotations

import re

import pytest

from vouch.delivery.segments import sms_segments
from vouch.otp.messages import code_email, code_sms_text

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
CYRILLIC = re.compile("[\u0400-\u04ff]")


def gsm7_septets(text: str) -> int:
    """Septets the text takes in GSM-7; raise if it cannot be sent in GSM-7 at all."""
    septets = 0
    for ch in text:
        if ch in GSM7_BASIC:
            septets += 1
        elif ch in GSM7_EXTENSION:
            septets += 2
        else:
            raise AssertionError(f"{ch!r} is not a GSM-7 character")
    return septets


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://vouch.example.com"


def test_english_text_fits_one_gsm7_segment_and_names_the_code():
    text = code_sms_text(code="123456", language="en")
    assert gsm7_septets(text) <= 160
    assert "code" in text.lower()
    assert "123456" in text


def test_longest_code_still_fits_one_segment():
    assert gsm7_septets(code_sms_text(code="1234567890", language="en")) <= 160


def test_last_line_is_the_webotp_line():
    text = code_sms_text(code="123456", language="en")
    assert text.splitlines()[-1] == "@vouch.example.com #123456"


def test_webotp_line_uses_the_host_only(settings):
    settings.SITE_URL = "http://localhost:8000"
    assert code_sms_text(code="042", language="en").splitlines()[-1] == "@localhost #042"


def test_no_language_means_the_default_language():
    assert code_sms_text(code="123456", language="") == code_sms_text(code="123456", language="en")


def test_russian_text_is_in_russian():
    text = code_sms_text(code="123456", language="ru")
    body = "\n".join(text.splitlines()[:-1])
    assert CYRILLIC.search(body), body
    assert "Your Vouch code" not in body
    assert "123456" in body
    assert text.splitlines()[-1] == "@vouch.example.com #123456"


def test_email_carries_the_code_and_ends_with_the_webotp_line():
    subject, body = code_email(code="123456", language="en")
    assert "code" in subject.lower()
    assert "123456" not in subject
    assert "123456" in body
    assert body.splitlines()[-1] == "@vouch.example.com #123456"


def test_email_names_the_lifetime_in_minutes(settings):
    settings.OTP_TTL = 600
    _, body = code_email(code="123456", language="en")
    assert "10 minutes" in body


def test_russian_email_is_in_russian():
    subject, body = code_email(code="123456", language="ru")
    assert CYRILLIC.search(subject), subject
    assert CYRILLIC.search(body), body


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_default_sms_fits_one_segment_with_a_twenty_character_host(settings, language):
    settings.SITE_URL = "https://auth.vouch-example.ru"  # 21 characters of host
    text = code_sms_text(code="123456", language=language)  # the default length
    assert sms_segments(text).count == 1, (len(text), text)


def test_russian_sms_is_ucs2_and_english_gsm7():
    assert sms_segments(code_sms_text(code="123456", language="ru")).encoding == "UCS-2"
    assert sms_segments(code_sms_text(code="123456", language="en")).encoding == "GSM-7"


def test_a_language_specific_template_overrides_the_generic_one(settings, tmp_path):
    (tmp_path / "otp" / "messages" / "ru").mkdir(parents=True)
    (tmp_path / "otp" / "messages" / "ru" / "code_sms.txt").write_text("Код {{ code }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    assert code_sms_text(code="42", language="ru") == "Код 42"
    assert code_sms_text(code="42", language="en").startswith("Your Vouch code is 42")


def test_the_template_is_compiled_once(monkeypatch):
    """Django's cached template loader keeps each message's compiled template."""
    from django.template import engines
    from django.template.base import Template

    for loader in engines["django"].engine.template_loaders:
        loader.reset()  # the cached loader forgets what it holds
    compiled = []
    compile_nodelist = Template.compile_nodelist

    def counting(template):
        compiled.append(template.origin.template_name)
        return compile_nodelist(template)

    monkeypatch.setattr(Template, "compile_nodelist", counting)
    for _ in range(3):
        assert code_sms_text(code="42", language="ru").startswith("Код Vouch: 42")
        assert "42" in code_sms_text(code="42", language="en")
    assert compiled == ["otp/messages/code_sms.txt"]  # one template, translated when rendered


def test_a_template_overridden_after_a_first_use_is_used(settings, tmp_path):
    settings.DEBUG = False
    assert code_sms_text(code="42", language="ru") != "Код 42"
    (tmp_path / "otp" / "messages" / "ru").mkdir(parents=True)
    (tmp_path / "otp" / "messages" / "ru" / "code_sms.txt").write_text("Код {{ code }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    assert code_sms_text(code="42", language="ru") == "Код 42"
