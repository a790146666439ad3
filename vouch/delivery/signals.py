"""
What delivery tells the rest of the project. Sent with sender=Message and keyword `message`
whenever a message reaches sent, delivered or failed (from a worker, a callback or at once).
"""

from django.dispatch import Signal

message_status_changed = Signal()
