"""
The staff pages of referral insight: the leaderboard, the funnel, one member's place in the
tree and their downline, the queue of flagged referrals, and the two CSV exports. Staff only:
an anonymous visitor is sent to sign in, anyone else gets the 403 page. Every figure comes from
`vouch.referrals.selectors` and means what docs/referral-insight.md says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from vouch.accounts.models import User
from vouch.accounts.selectors import signed_in_user, users_visible_to
from vouch.core.errors import ApplicationError
from vouch.referrals.app_settings import referrals_settings
from vouch.referrals.models import FlagReason, ReferralFlag
from vouch.referrals.selectors import (
    Period,
    downline,
    downline_members,
    funnel,
    funnel_countries,
    funnel_per_day,
    leaderboard,
    leaderboard_csv,
    period_preset,
    referral_flags,
    referrals_csv,
)
from vouch.referrals.services import referral_flag_review
from vouch.web.flags import flag_detail
from vouch.web.forms import PERIOD_PRESETS, FlagsForm, FunnelForm, MembersForm, PeriodForm
from vouch.web.pictures import funnel_chart_svg
from vouch.web.redirects import site_path

LEADERBOARD_SIZE = 50  # rows of the page; the CSV holds every inviter of the period
# The longest period drawn day by day: a bar and a table row per day. An open end is clamped
# to the days that have figures; two dates far apart would be millions of empty days.
PER_DAY_MAX = 3 * 366
ID_MAX = 2**63 - 1  # the largest id a database column holds; a larger one in the address: 404
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def staff_only(view: View) -> View:
    """Staff pass; an anonymous visitor is sent to sign in (and back), anyone else gets 403."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked  # type: ignore[return-value]


# --- periods and pages of rows ------------------------------------------------------------------


def _period_of(form: PeriodForm) -> Period:
    """The period a valid form chose: its dates, else its preset (the default one if none)."""
    if form.dated:
        return Period(date_from=form.cleaned_data.get("from"), date_to=form.cleaned_data.get("to"))
    return period_preset(form.preset)


def _span(period: Period) -> int:
    """The days of a period with both ends; 0 when an end is open (the days counted bound it)."""
    if period.date_from is None or period.date_to is None:
        return 0
    return (period.date_to - period.date_from).days + 1


def _address(name: str, query: dict[str, Any], *, fragment: str = "", **kwargs: Any) -> str:
    params = {key: value for key, value in query.items() if value not in ("", None)}
    url = reverse(name, kwargs=kwargs or None)
    return (f"{url}?{urlencode(params)}" if params else url) + (f"#{fragment}" if fragment else "")


def _presets(name: str, form: PeriodForm, keep: dict[str, str]) -> list[dict[str, Any]]:
    """The preset links of the period picker, the one in force marked current."""
    current = form.preset if form.is_valid() else ""
    return [
        {
            "label": label,
            "url": _address(name, {"period": preset, **keep}),
            "current": preset == current,
        }
        for preset, label in PERIOD_PRESETS.items()
    ]


def _cursor(moment: datetime | None, pk: int) -> str:
    """Where the next page starts: after the row at `moment` with id `pk` (newest first)."""
    if moment is None:
        return ""
    return f"{(moment - EPOCH) // MICROSECOND}.{pk}"


def _after(rows: QuerySet[Any], field: str, cursor: str) -> QuerySet[Any] | None:
    """
    The rows after `cursor` in the order (-`field`, -id), or None when the cursor is not one
    this page wrote (the page then says so instead of guessing).
    """
    if not cursor:
        return rows
    moment, _dot, pk = cursor.partition(".")
    if not all(part.isascii() and part.isdigit() and len(part) <= 18 for part in (moment, pk)):
        return None
    try:
        at = EPOCH + int(moment) * MICROSECOND
    except OverflowError:  # past the year 9999
        return None
    # The bound on `field` alone lets the index range start at the cursor; the rest breaks ties.
    return rows.filter(Q(**{f"{field}__lte": at}) & (Q(**{f"{field}__lt": at}) | Q(pk__lt=int(pk))))


def _page(rows: QuerySet[Any], field: str, cursor: str) -> tuple[list[Any], str] | None:
    """One page of `rows` after `cursor`, and the cursor of the next page ("" at the end)."""
    size = referrals_settings.PAGE_SIZE
    after = _after(rows, field, cursor)
    if after is None:
        return None
    found = list(after[: size + 1])  # one more than a page tells whether there is a next one
    shown = found[:size]
    more = len(found) > size and shown
    return shown, _cursor(getattr(shown[-1], field), shown[-1].pk) if more else ""


def _csv(request: HttpRequest, lines: Callable[..., Iterable[str]], name: str) -> HttpResponseBase:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return _leaderboard_page(request, form, status=400)
    try:
        period = _period_of(form)
        rows = iter(lines(period=period))
        first = next(rows, "")
    except (ValueError, ApplicationError) as error:
        form.add_error(None, _refusal(error))
        return _leaderboard_page(request, form, status=400)
    response = StreamingHttpResponse(_chain(first, rows), content_type="text/csv; charset=utf-8")
    span = "-".join(
        day.isoformat() if day else "open" for day in (period.date_from, period.date_to)
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{span}.csv"'
    return response


def _chain(first: str, rest: Iterable[str]) -> Iterable[str]:
    yield first
    yield from rest


def _refusal(error: Exception) -> str:
    """What a selector that refuses a period says, for the form."""
    if isinstance(error, ApplicationError):
        return str(error.detail)
    return _("This period cannot be shown. Choose a shorter one.")


# --- the pages ----------------------------------------------------------------------------------


@require_GET
@staff_only
@never_cache
def leaderboard_page(request: HttpRequest) -> HttpResponse:
    """The inviters with the most referrals in the period, with links to the CSV exports."""
    return _leaderboard_page(request, PeriodForm(request.GET))


def _leaderboard_page(request: HttpRequest, form: PeriodForm, *, status: int = 200) -> HttpResponse:
    leaders = None
    if form.is_valid():
        try:
            leaders = leaderboard(period=_period_of(form), limit=LEADERBOARD_SIZE)
        except (ValueError, ApplicationError) as error:
            form.add_error(None, _refusal(error))
    query = form.query() if form.is_valid() else {}
    context = {
        "section": "leaderboard",
        "form": form,
        "presets": _presets("web:insight", form, {}),
        "leaders": leaders,
        "size": LEADERBOARD_SIZE,
        "export_url": _address("web:insight-export", query) if form.is_valid() else "",
        "leaderboard_csv_url": _address("web:insight-leaderboard-csv", query)
        if form.is_valid()
        else "",
    }
    return render(request, "web/insight_leaderboard.html", context, status=status)


@require_GET
@staff_only
@never_cache
def funnel_page(request: HttpRequest) -> HttpResponse:
    """The funnel of the period (of one country, optionally), per day and per country."""
    form = FunnelForm(request.GET)
    context: dict[str, Any] = {"section": "funnel", "form": form, "totals": None}
    country = ""
    if form.is_valid():
        country = form.cleaned_data["country"]
        period = _period_of(form)
        try:
            totals = funnel(period=period, country=country or None)
            days = (
                funnel_per_day(period=period, country=country or None)
                if _span(period) <= PER_DAY_MAX
                else None
            )
            countries = funnel_countries(period=period)
        except (ValueError, ApplicationError) as error:
            form.add_error(None, _refusal(error))
        else:
            known = [code for code, _figures in countries if code]
            if country and country not in known:
                known.append(country)
            context.update(
                totals=totals,
                conversion=totals.conversion,
                days=days,
                chart=funnel_chart_svg(days) if days else "",
                per_day_max=PER_DAY_MAX,
                countries=[
                    {
                        "code": code,
                        "figures": figures,
                        "url": _address("web:insight-funnel", {**form.query(), "country": code})
                        if code
                        else "",
                    }
                    for code, figures in countries
                ],
                country_choices=sorted(known),
            )
    context["country"] = country
    keep = {"country": country} if country else {}
    context["presets"] = _presets("web:insight-funnel", form, keep)
    context["all_countries_url"] = (
        _address("web:insight-funnel", {**form.query(), "country": ""}) if form.is_valid() else ""
    )
    return render(request, "web/insight_funnel.html", context)


@require_GET
@staff_only
@never_cache
def member_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """One member: who invited them up to the root, their downline by level, and one level."""
    member = None
    if user_id <= ID_MAX:
        member = users_visible_to(user=request.user).filter(pk=user_id).first()
    if member is None:
        raise Http404
    tree = downline(user_id=member.pk)
    form = MembersForm(request.GET)
    context: dict[str, Any] = {
        "section": "member",
        "member": member,
        "chain": tree.inviter_chain,
        "levels": [
            {
                "depth": depth,
                "count": count,
                "url": _address(
                    "web:insight-member", {"depth": depth}, fragment="members", user_id=member.pk
                ),
            }
            for depth, count in tree.levels
        ],
        "total": tree.total,
        "form": form,
        "members": None,
    }
    if form.is_valid():
        depth = form.cleaned_data["depth"] or 1
        found = _page(
            downline_members(user_id=member.pk, depth=depth),
            "invite_activated_at",
            form.cleaned_data["cursor"],
        )
        if found is None:
            form.add_error(None, _("This page link is broken or out of date. Start again below."))
        else:
            rows, next_cursor = found
            context.update(
                depth=depth,
                members=_with_inviters(rows),
                first_url=_address(
                    "web:insight-member", {"depth": depth}, fragment="members", user_id=member.pk
                )
                if form.cleaned_data["cursor"]
                else "",
                next_url=_address(
                    "web:insight-member",
                    {"depth": depth, "cursor": next_cursor},
                    fragment="members",
                    user_id=member.pk,
                )
                if next_cursor
                else "",
            )
    return render(request, "web/insight_member.html", context)


def _with_inviters(rows: list[User]) -> list[dict[str, Any]]:
    """The page's members, each with the phone of whoever invited them (one query)."""
    ids = {row.invited_by_id for row in rows if row.invited_by_id}
    phones = dict(User.objects.filter(pk__in=ids).values_list("pk", "phone")) if ids else {}
    return [
        {
            "id": row.pk,
            "phone": row.phone_e164,  # type: ignore[attr-defined]
            "invited_by": row.invited_by_id,
            "inviter_phone": phones.get(row.invited_by_id or 0, ""),
            "activated_at": row.invite_activated_at,
            "referrals": row.referrals_count,
        }
        for row in rows
    ]


@require_GET
@staff_only
@never_cache
def flags_page(request: HttpRequest) -> HttpResponse:
    """The referrals that look self-made, newest first, each with a button to mark it reviewed."""
    form = FlagsForm(request.GET)
    context: dict[str, Any] = {"section": "flags", "form": form, "flags": None}
    if form.is_valid():
        status = form.cleaned_data["status"] or "open"
        reason = form.cleaned_data["reason"] or None
        found = _page(
            referral_flags(status=status, reason=reason),
            "created_at",
            form.cleaned_data["cursor"],
        )
        if found is None:
            form.add_error(None, _("This page link is broken or out of date. Start again below."))
        else:
            rows, next_cursor = found
            query = {"status": status, "reason": reason or ""}
            context.update(
                flags=_flags(rows),
                status=status,
                first_url=_address("web:insight-flags", query)
                if form.cleaned_data["cursor"]
                else "",
                next_url=_address("web:insight-flags", {**query, "cursor": next_cursor})
                if next_cursor
                else "",
            )
    context["back"] = request.get_full_path()
    return render(request, "web/insight_flags.html", context)


def _flags(rows: list[ReferralFlag]) -> list[dict[str, Any]]:
    """The page's flags for the template, with the phones of their reviewers (one query)."""
    ids = {flag.reviewed_by_id for flag in rows if flag.reviewed_by_id}
    reviewers = dict(User.objects.filter(pk__in=ids).values_list("pk", "phone")) if ids else {}
    return [
        {
            "id": flag.pk,
            "reason": FlagReason(flag.reason).label
            if flag.reason in FlagReason.values
            else flag.reason,
            "detail": flag_detail(flag.detail or {}),
            "created_at": flag.created_at,
            "reviewed_at": flag.reviewed_at,
            "reviewer_phone": reviewers.get(flag.reviewed_by_id or 0, ""),
            "invitee": {"id": flag.invitee_id, "phone": flag.invitee_phone},  # type: ignore[attr-defined]
            "inviter": {"id": flag.inviter_id, "phone": flag.inviter_phone}  # type: ignore[attr-defined]
            if flag.inviter_id  # type: ignore[attr-defined]
            else None,
        }
        for flag in rows
    ]


@require_POST
@staff_only
def flag_review(request: HttpRequest, flag_id: int) -> HttpResponse:
    """Mark one flag reviewed (the first review stays), then back to the queue as it was."""
    if flag_id > ID_MAX:
        raise Http404
    try:
        referral_flag_review(flag_id=flag_id, reviewer=signed_in_user(request))
    except ApplicationError as error:
        if error.status == 404:
            raise Http404 from None
        raise
    messages.success(request, _("The flag is marked reviewed."))
    flags = reverse("web:insight-flags")
    return redirect(site_path(request, request.POST.get("next", ""), under=flags) or flags)


@require_GET
@staff_only
@never_cache
def referrals_export(request: HttpRequest) -> HttpResponseBase:
    """Every activation of the period as CSV, streamed row by row."""
    return _csv(request, referrals_csv, "referrals")


@require_GET
@staff_only
@never_cache
def leaderboard_export(request: HttpRequest) -> HttpResponseBase:
    """Every inviter of the period in leaderboard order as CSV, streamed row by row."""
    return _csv(request, leaderboard_csv, "leaderboard")
