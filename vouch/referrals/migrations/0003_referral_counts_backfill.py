from datetime import timedelta

import phonenumbers
from django.db import migrations
from django.db.models import CharField
from django.db.models.functions import Cast

from vouch.referrals.rebuild import Tables, counts_rebuild

BATCH = 2000
# An activation this soon after the account's creation came with its first sign-in.
AT_SIGN_UP = timedelta(seconds=60)


def _country(phone):
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone)) or ""
    except phonenumbers.NumberParseException:
        return ""


def referrals_and_counts(apps, schema_editor):
    """
    Give every user who has activated a code the referral row an activation now writes
    (country of the phone, whether it came with the sign-up; no network), then derive the
    downline levels and each day's sign-ups and activations from the tree.
    """
    User = apps.get_model("accounts", "User")
    Referral = apps.get_model("referrals", "Referral")
    activated = (
        User.objects.filter(activated_invite_code__isnull=False, invite_activated_at__isnull=False)
        .annotate(e164=Cast("phone", output_field=CharField()))
        .order_by("pk")
    )
    last = 0
    while True:
        batch = list(
            activated.filter(pk__gt=last).values_list(
                "pk", "e164", "date_joined", "invite_activated_at"
            )[:BATCH]
        )
        if not batch:
            break
        last = batch[-1][0]
        Referral.objects.bulk_create(
            [
                Referral(
                    invitee_id=pk,
                    country=_country(phone),
                    at_sign_up=timedelta(0) <= activated_at - joined <= AT_SIGN_UP,
                )
                for pk, phone, joined, activated_at in batch
            ],
            ignore_conflicts=True,
        )
    tables = Tables(
        users=User._meta.db_table,
        downline=apps.get_model("referrals", "DownlineLevel")._meta.db_table,
        referrals=Referral._meta.db_table,
        invite_days=apps.get_model("referrals", "InviteDay")._meta.db_table,
        funnel_days=apps.get_model("referrals", "FunnelDay")._meta.db_table,
    )
    counts_rebuild(schema_editor.connection, tables)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_referral_insight_indexes"),
        ("referrals", "0002_referral_insight"),
    ]

    operations = [
        migrations.RunPython(referrals_and_counts, migrations.RunPython.noop),
    ]
