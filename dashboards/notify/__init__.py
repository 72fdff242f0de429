"""Alert notifications (Slack webhook, e-mail) behind one small interface.

The application calls ``on_alert`` for every opened, escalated or resolved alert and
``on_acknowledged`` for every ``ack_alert``; delivery, escalation chains and the durable
outbox live behind it.
"""

from __future__ import annotations

from ..config import Config
from ..slo import AlertEvent


class Notifier:
    """Sends nothing: the base for real notifiers, and the choice when none is configured."""

    async def start(self) -> None:
        """Begin delivering (e.g. what a previous run left in the outbox)."""

    async def stop(self) -> None:
        """Stop delivering; what is not delivered stays in the outbox for the next start."""

    def on_alert(self, event: AlertEvent, timestamp_ms: int) -> None:
        """An alert opened, escalated or resolved (``event.kind``)."""

    def on_acknowledged(self, alert_id: str, timestamp_ms: int) -> None:
        """An alert was acknowledged with ``ack_alert``: cancel its further escalation."""


def build_notifier(config: Config) -> Notifier:
    return Notifier()
