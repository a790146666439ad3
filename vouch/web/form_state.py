"""
Post/Redirect/Get: every form answers with a redirect, so Back, Forward and Reload never send
it again. A refused form's input and errors wait in the session for the page the browser is
sent to, which shows them once; a one-time code is never kept.

The redirect names the page without a #fragment: a page opened at a fragment skips
`autofocus`, and `autofocus` (on the error summary, or on the field in error) is what brings
the errors into view and gives them the focus.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import HttpRequest

from vouch.web.forms import PageForm

SESSION_KEY = "vouch_forms"
KEPT_MAX = 256  # characters kept of a field without a length of its own: the session stays small

F = TypeVar("F", bound=PageForm)


def form_keep(request: HttpRequest, name: str, form: PageForm) -> None:
    """Keep the refused `form` under `name` for the next page, without its secret fields."""
    kept = dict(request.session.get(SESSION_KEY, {}))
    kept[name] = {
        "data": {
            name: str(form.data.get(name, ""))[: getattr(field, "max_length", None) or KEPT_MAX]
            for name, field in form.fields.items()
            if name not in form.secret_fields
        },
        "errors": form.errors.get_json_data(),
    }
    request.session[SESSION_KEY] = kept


def form_kept(request: HttpRequest, name: str, form_class: type[F], **kwargs: Any) -> F | None:
    """The form kept under `name`, bound to its input and showing its errors; once."""
    kept = dict(request.session.get(SESSION_KEY, {}))
    saved = kept.pop(name, None)
    if saved is None:
        return None
    request.session[SESSION_KEY] = kept
    return form_class(saved["data"], **kwargs).with_errors(saved["errors"])
