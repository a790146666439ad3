from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from vouch.accounts import signals
from vouch.accounts.errors import PhoneTaken
from vouch.core.codes import generate_invite_code
from vouch.core.requests import NO_ORIGIN, Origin

INVITE_CODE_ATTEMPTS = 10


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self,
        phone: str,
        password: str | None = None,
        *,
        actor: User | None = None,
        origin: Origin = NO_ORIGIN,
        **extra: Any,
    ) -> User:
        """
        Create a user with a fresh invite code and announce it (`signals.user_created`).

        A random code that happens to be taken fails the unique constraint inside a savepoint
        and is drawn again; a phone that is taken raises PhoneTaken. Inside a transaction
        already, that savepoint is the only one, and PhoneTaken leaves the transaction usable.
        """
        taken = False
        with transaction.atomic(savepoint=False):
            for _attempt in range(INVITE_CODE_ATTEMPTS):
                user = self.model(phone=str(phone), invite_code=generate_invite_code(), **extra)
                if password:
                    user.set_password(password)
                else:
                    user.set_unusable_password()
                try:
                    with transaction.atomic():
                        user.save(force_insert=True, using=self._db)
                except IntegrityError:
                    if self.filter(phone=phone).exists():
                        taken = True
                        break
                    continue
                signals.user_created.send(sender=self.model, user=user, actor=actor, origin=origin)
                return user
        if taken:
            # Raised out of the block: an exception inside one without a savepoint would
            # condemn the caller's transaction.
            raise PhoneTaken()
        raise RuntimeError("Could not draw a free invite code; the code space may be exhausted.")

    def create_superuser(self, phone: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person, known by a phone number; signs in with one-time codes (staff also by password)."""

    phone = PhoneNumberField(_("phone"), unique=True)
    # A code that reached the phone (SMS, Telegram) proves it; a code sent by e-mail proves
    # only the address. Whoever proves the phone owns the account (`user_phone_prove`).
    phone_verified = models.BooleanField(_("phone verified"), default=False)
    email = models.EmailField(_("e-mail"), blank=True, default="")
    email_verified = models.BooleanField(_("e-mail verified"), default=False)

    invite_code = models.CharField(_("invite code"), max_length=6, unique=True)
    invited_by = models.ForeignKey(
        "self",
        verbose_name=_("invited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    # Kept when the inviter is deleted: it is what this user entered, once, for ever.
    activated_invite_code = models.CharField(  # noqa: DJ001 (null: "never activated")
        _("activated invite code"), max_length=6, null=True, blank=True
    )
    invite_activated_at = models.DateTimeField(_("invite activated at"), null=True, blank=True)
    referrals_count = models.PositiveIntegerField(_("referrals"), default=0)

    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Sessions and access tokens that started before this moment no longer work.
    sessions_revoked_at = models.DateTimeField(_("signed out everywhere at"), null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "phone"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(invited_by__isnull=True) | ~Q(invited_by=F("id")),
                name="user_not_invited_by_self",
            ),
            models.CheckConstraint(
                condition=Q(invited_by__isnull=True) | Q(activated_invite_code__isnull=False),
                name="user_inviter_has_activated_code",
            ),
        ]
        indexes = [
            # The referral list: one user's referrals, newest activation first.
            models.Index(
                fields=["invited_by", "-invite_activated_at", "-id"], name="user_referrals_idx"
            ),
            models.Index(fields=["-date_joined"], name="user_date_joined_idx"),
            # Activations of a period, across inviters: the referral leaderboard and exports.
            models.Index(fields=["invite_activated_at", "invited_by"], name="user_activation_idx"),
            # The all-time leaderboard: the users with most referrals first.
            models.Index(
                fields=["-referrals_count", "id"],
                name="user_leaderboard_idx",
                condition=Q(referrals_count__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return str(self.phone)

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django's hash of the password field, which every session carries and checks; after
        # `sessions_revoked_at` is set it covers that moment too, so older sessions end.
        if self.sessions_revoked_at is None:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]
        return salted_hmac(
            "vouch.accounts.User.get_session_auth_hash",
            f"{self.password}:{self.sessions_revoked_at.timestamp()}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class SignIn(models.Model):
    """
    One sign-in and the chain of refresh tokens rotated from it. Revoking it stops every
    refresh token of the chain, which is what a reused (stolen) refresh token calls for.
    """

    id = models.UUIDField(_("ID"), primary_key=True)
    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="sign_ins"
    )
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")

    def __str__(self) -> str:
        return str(self.id)
