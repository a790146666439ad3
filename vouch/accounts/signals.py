"""
What accounts tell the rest of the project, as django.contrib.auth does with user_logged_in:
the audit trail listens here, since accounts itself depends on nothing but core.

Every signal is sent with sender=User and keyword arguments `user`, `origin`
(vouch.core.requests.Origin) and the ones named below.
"""

from django.dispatch import Signal

user_created = Signal()  # + actor (who created them, None for a self sign-up)
user_updated = Signal()  # + actor, fields (names of the changed fields)
user_deleted = Signal()  # user=None (the row is gone) + user_id, phone (E.164), actor
refresh_token_reused = Signal()  # a used refresh token came back: its sign-in is revoked
signed_out = Signal()
# The phone was proven for the first time and every other session revoked; + email_detached
phone_proven = Signal()
