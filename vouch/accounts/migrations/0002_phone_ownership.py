from django.db import migrations, models
from django.db.models import Exists, OuterRef


def phones_proven_by_code(apps, schema_editor):
    """
    A user whose phone has received a code that was then used (an SMS challenge consumed)
    has proven it; every other user's phone stays unproven until they sign in by SMS.
    """
    User = apps.get_model("accounts", "User")
    Challenge = apps.get_model("otp", "Challenge")
    used_by_phone = Challenge.objects.filter(
        phone=OuterRef("phone"), channel="sms", consumed_at__isnull=False
    )
    User.objects.filter(Exists(used_by_phone)).update(phone_verified=True)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("otp", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="phone_verified",
            field=models.BooleanField(default=False, verbose_name="phone verified"),
        ),
        migrations.AddField(
            model_name="user",
            name="sessions_revoked_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="signed out everywhere at"
            ),
        ),
        migrations.RunPython(phones_proven_by_code, migrations.RunPython.noop),
    ]
