"""
The admin in Russian says everything in Russian: the names of the apps and models on the index
and on each changelist, and the columns and filters our own model admins define; its header and
title carry SITE_NAME. The names are taken from the admin's registry, so a model registered
later is checked too.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation

from vouch.accounts.models import User

pytestmark = pytest.mark.django_db

ADMIN_PHONE = "+79990440001"
# A product's own name, the same in every language: not a word to translate.
PROPER_NAMES = {"Django-RQ"}


@pytest.fixture
def admin_client(client: Client) -> Client:
    superuser = User.objects.create_superuser(ADMIN_PHONE, password="a-long-admin-password")
    client.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    return client


def in_language(lang: str, text: Any) -> str:
    with translation.override(lang):
        return str(text)


def translated(name: Any) -> bool:
    """
    The Russian catalog has `name` and the admin shows that translation: marked for translation
    and translated (a term kept as it is in Russian, like "ID", counts once the catalog says so).
    """
    english = in_language("en", name)
    if english in PROPER_NAMES:
        return True
    catalog = translation.trans_real.translation("ru")._catalog
    return english in catalog and in_language("ru", name) == catalog[english]


def registered() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def names_of(model: type[models.Model]) -> list[Any]:
    opts = model._meta
    return [opts.app_config.verbose_name, opts.verbose_name, opts.verbose_name_plural]


def is_ours(model: type[models.Model]) -> bool:
    return model.__module__.startswith("vouch.")


def own_labels(model: type[models.Model], model_admin: admin.ModelAdmin) -> list[Any]:
    """The column headers and filter titles that our model admin defines."""
    labels: list[Any] = []
    for name in model_admin.list_display:
        if name == "__str__" or callable(name):
            continue
        labels.append(label_for_field(name, model, model_admin))
    for spec in model_admin.list_filter:
        if isinstance(spec, str):
            labels.append(label_for_field(spec.split("__")[0], model, model_admin))
    return labels


def visible_text(response: Any) -> str:
    return visible_text_of(response.content.decode())


def visible_text_of(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def english_left(text: str, names: list[Any]) -> list[str]:
    """The names whose English text appears in `text` (whole words) and differs in Russian."""
    left = []
    for name in names:
        english, russian = in_language("en", name), in_language("ru", name)
        if english in PROPER_NAMES or (english == russian and translated(name)):
            continue
        if not translated(name) or re.search(rf"(?<!\w){re.escape(english)}(?!\w)", text, re.I):
            left.append(english)
    return left


def test_the_registry_holds_our_models_and_others():
    models_seen = [model for model, _admin in registered()]
    assert any(is_ours(model) for model in models_seen)
    assert any(not is_ours(model) for model in models_seen)


def test_every_registered_name_has_a_russian_translation():
    untranslated = []
    for model, model_admin in registered():
        names = names_of(model) + (own_labels(model, model_admin) if is_ours(model) else [])
        for name in names:
            if not translated(name):
                untranslated.append(f"{model._meta.label}: {in_language('en', name)}")
    assert untranslated == []


def test_the_russian_admin_index_names_no_app_or_model_in_english(admin_client):
    response = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    text = visible_text(response)
    names = [name for model, _admin in registered() for name in names_of(model)]
    assert english_left(text, names) == []
    for model, _admin in registered():
        assert in_language("ru", model._meta.verbose_name_plural).lower() in text.lower()


@pytest.mark.parametrize(
    "model", [model for model, _admin in registered()], ids=lambda model: model._meta.label
)
def test_each_russian_changelist_names_nothing_of_ours_in_english(admin_client, model):
    model_admin = admin.site._registry[model]
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200, url
    text = visible_text(response)
    names = names_of(model) + (own_labels(model, model_admin) if is_ours(model) else [])
    assert english_left(text, names) == []


def test_the_admin_header_and_title_carry_the_site_name(admin_client, settings):
    settings.SITE_NAME = "Acme ID"
    english = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    page = english.content.decode()
    assert "Acme ID administration" in page
    assert "<title>Manage Acme ID | Acme ID admin</title>" in page
    assert "Django administration" not in page
    assert "Django site admin" not in page
    russian = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")
    page = russian.content.decode()
    assert "Администрирование Acme ID" in page
    assert "<title>Управление Acme ID | Админка Acme ID</title>" in page


def test_the_admin_login_page_carries_the_site_name(client, settings):
    settings.SITE_NAME = "Acme ID"
    page = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Администрирование Acme ID" in page
    assert "Django" not in visible_text_of(page)
