"""Who is told what, when: the escalation chains of protocol.md section 6 (pure logic).

- P0: DevOps Lead by Slack and e-mail at once; SRE by Slack at 5 min; Tech Lead by e-mail at
  15 min. The two later steps are skipped once the alert is acknowledged or resolved.
- P1: SRE by Slack within ``P1_GROUP_WAIT_S`` (not scaled), grouped with the other P1 alerts
  opened in the same window and sent even if acknowledged or resolved meanwhile; PM by
  e-mail at 60 min unless acknowledged or resolved.
- P2: nothing. A cooldown-suppressed event (``notify`` False): nothing.

Delays of 5, 15 and 60 min are multiplied by ``ESCALATION_TIME_SCALE``.

Decisions where the contract is silent:

- An escalation to P1 or P0 (from a lower priority) starts that priority's chain as an open
  would, and first cancels what is still pending and cancellable of the lower chain (the
  higher chain supersedes it; e.g. P1's PM e-mail is replaced by P0's Tech Lead e-mail).
  The immediate notifications and P1 group messages are never cancelled.
- The immediate P0 notifications are delivered even if the alert is acknowledged or resolved
  while they are still being retried: an acknowledgement stops *further* steps only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..slo import AlertEvent

Channel = Literal["slack", "email"]
CHANNELS: tuple[Channel, ...] = ("slack", "email")

# Role ids (as in ALERT_EMAIL_TO "role=address" entries) and how messages name them.
ROLES = {"devops_lead": "DevOps Lead", "sre": "SRE", "tech_lead": "Tech Lead", "pm": "PM"}


@dataclass(frozen=True)
class Step:
    """One notification of a chain: ``delay_s`` after the alert event, unscaled."""

    name: str
    channel: Channel
    role: str
    delay_s: float
    scaled: bool
    cancellable: bool  # skipped once the alert is acknowledged or resolved
    grouped: bool = False  # P1 team message: joins the pending group of its window


P0_CHAIN = (
    Step("p0_immediate_slack", "slack", "devops_lead", 0, scaled=True, cancellable=False),
    Step("p0_immediate_email", "email", "devops_lead", 0, scaled=True, cancellable=False),
    Step("p0_sre", "slack", "sre", 5 * 60, scaled=True, cancellable=True),
    Step("p0_tech_lead", "email", "tech_lead", 15 * 60, scaled=True, cancellable=True),
)


def p1_chain(group_wait_s: float) -> tuple[Step, ...]:
    return (
        Step("p1_team", "slack", "sre", group_wait_s, scaled=False, cancellable=False,
             grouped=True),
        Step("p1_pm", "email", "pm", 60 * 60, scaled=True, cancellable=True),
    )


@dataclass(frozen=True)
class Plan:
    """What an alert event asks of the outbox."""

    cancel_pending: bool  # cancel the alert's pending cancellable steps first
    steps: tuple[Step, ...]
    suppressed: bool = False  # a cooldown silenced notifications this chain would have sent


def plan(event: AlertEvent, group_wait_s: float) -> Plan:
    """The outbox work for one open, escalate or resolve event."""
    if event.kind == "resolve":
        return Plan(cancel_pending=True, steps=())
    escalation = event.kind == "escalate"
    if event.priority == "P0":
        chain: tuple[Step, ...] = P0_CHAIN
    elif event.priority == "P1":
        chain = p1_chain(group_wait_s)
    else:
        chain = ()
    if not event.notify:
        return Plan(cancel_pending=escalation, steps=(), suppressed=bool(chain))
    return Plan(cancel_pending=escalation, steps=chain)


def delay_s(step: Step, time_scale: float) -> float:
    return step.delay_s * time_scale if step.scaled else step.delay_s


def parse_recipients(text: str) -> dict[str, list[str]]:
    """``ALERT_EMAIL_TO`` → role id → addresses.

    Entries are comma-separated. ``role=address`` (role one of ``devops_lead``, ``sre``,
    ``tech_lead``, ``pm``) addresses that role; a bare address receives the e-mail of every
    role that has no entry of its own. A role with neither gets no e-mail.
    """
    own: dict[str, list[str]] = {}
    bare: list[str] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        role, sep, address = entry.partition("=")
        if not sep:
            bare.append(entry)
            continue
        role, address = role.strip().lower(), address.strip()
        if role not in ROLES:
            raise ValueError(f"ALERT_EMAIL_TO: unknown role {role!r} (known: "
                             f"{', '.join(ROLES)})")
        if "@" not in address:
            raise ValueError(f"ALERT_EMAIL_TO: {address!r} is not an e-mail address")
        own.setdefault(role, []).append(address)
    return {role: own.get(role, bare) for role in ROLES if own.get(role, bare)}
