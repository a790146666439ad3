"""
A host app's receiver of Vouch events, as docs/integrate.md shows it: verify each delivery
with the standardwebhooks package, handle each event once (delivery is at least once), answer
2xx quickly. Here it is a werkzeug request handler, which the tests serve.
"""

from __future__ import annotations

import threading
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug import Request, Response


class Receiver:
    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)  # the endpoint's whsec_... secret
        self.handled: dict[str, dict[str, Any]] = {}  # by webhook-id; keep them in a database
        self.answers: list[tuple[str, int]] = []  # (webhook-id, status) of every request
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            # The raw body, exactly as received: re-serialised JSON would not verify.
            event = self.webhook.verify(request.get_data(as_text=True), headers)
        except WebhookVerificationError:
            return self._answer(headers.get("webhook-id", ""), 400)
        with self._lock:
            if headers["webhook-id"] not in self.handled:
                self.handled[headers["webhook-id"]] = event  # your code: handle the event
        return self._answer(headers["webhook-id"], 204)

    def _answer(self, event_id: str, status: int) -> Response:
        with self._lock:
            self.answers.append((event_id, status))
        return Response(status=status)
