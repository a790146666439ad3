"""
What delivery tells the rest of the project. Sent with sender=Message and keyword `messages`
(a list, in the transaction that stored their new status) whenever messages reach sent,
delivered or failed: a worker's batch, a provider's callback, or a message sent at once.
"""

from django.dispatch import Signal

messages_status_changed = Signal()
