"""Alert notifications (Slack webhook, e-mail) behind one small interface.

The application calls ``on_alert`` for every opened, escalated or resolved alert and
``on_acknowledged`` for every ``ack_alert``; delivery, escalation chains (policy.py) and the
durable outbox (outbox.py) live behind it. docs/alerting.md describes the whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Config, ConfigError
from ..slo import AlertEvent

if TYPE_CHECKING:
    from ..observability import Observability


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


def build_notifier(config: Config, obs: Observability | None = None) -> Notifier:
    """The outbox notifier when Slack or e-mail is configured, else one that sends nothing.

    ``obs`` receives ``alert_notifications_total{channel,outcome}``. Raises ``ConfigError``
    for a malformed ``ALERT_EMAIL_TO``.
    """
    from .outbox import OutboxNotifier
    from .policy import parse_recipients

    try:
        recipients = parse_recipients(config.alert_email_to)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if not config.slack_webhook_url and not (config.smtp_host and recipients):
        return Notifier()
    return OutboxNotifier(config, obs)
