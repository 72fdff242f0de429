"""Subscriptions, live updates, alerts, voices, seams and resume over real sockets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import psycopg2

from conftest import Peer, RunningSystem

FAST = {"UPDATE_INTERVAL_MS": "50", "VOICE_COOLDOWN_S": "0", "ALERT_COOLDOWN_S": "0"}


def rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def eventually_rows(dsn: str, sql: str, timeout: float = 10.0) -> list[tuple[object, ...]]:
    """The rows of ``sql`` once there are any, or the empty result after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := rows(dsn, sql)) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling interval of a condition wait
    return found


def send_metric(peer: Peer, metric: str, value: float) -> None:
    peer.request({"type": "metric_update", "metric": metric, "value": value},
                 "metrics_received")


def test_subscribe_lists_channels_in_contract_order_and_updates_flow(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    with Peer(system.url("pulse")) as peer:
        reply = peer.request({"type": "subscribe",
                              "channels": ["pain", "trust", "chaos", "clarity"]}, "subscribed")
        assert reply == {"type": "subscribed", "channels": ["clarity", "chaos", "trust", "pain"],
                         "status": "ok"}
        first = peer.next("metrics_update")
        assert first["data"] == {"clarity": 0.8, "chaos": 0.45, "trust": 0.8, "pain": 0.3}
        send_metric(peer, "pain", 0.35)
        while peer.next("metrics_update")["data"]["pain"] != 0.35:
            pass
        reply = peer.request({"type": "unsubscribe", "channels": ["clarity", "pain"]},
                             "unsubscribed")
        assert reply["channels"] == ["clarity", "pain"]
        assert reply["remaining"] == ["chaos", "trust"]
        peer.backlog.clear()
        update = peer.next("metrics_update")
        while set(update["data"]) != {"chaos", "trust"}:  # one may have been in flight
            update = peer.next("metrics_update")
        seqs = [peer.next("metrics_update")["seq"] for _ in range(3)]
        assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]


def test_unknown_channel_rejects_the_whole_subscribe(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    with Peer(system.url("seams")) as peer:
        error = peer.request({"type": "subscribe", "channels": ["seams", "clarity"]}, "error")
        assert error["code"] == "unknown_channel"
        reply = peer.request({"type": "subscribe", "channels": ["seams"]}, "subscribed")
        assert reply["channels"] == ["seams"]


def test_7_1_clarity_095_alerts_p1_on_every_dashboard_and_activates_pino_hundun(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    pulse, seams, voices = (Peer(system.url(d)) for d in ("pulse", "seams", "voices"))
    for peer in (pulse, seams):
        peer.request({"type": "subscribe", "channels": ["alerts"]}, "subscribed")
    voices.request({"type": "subscribe", "channels": ["voices", "alerts"]}, "subscribed")
    send_metric(pulse, "clarity", 0.95)
    alerts = [peer.next("slo_alert") for peer in (pulse, seams, voices)]
    alert = alerts[0]["alert"]
    assert alert["metric"] == "clarity" and alert["value"] == 0.95
    assert (alert["priority"], alert["level"], alert["threshold"], alert["bound"]) == \
        ("P1", "BLOCK", 0.9, "max")
    assert alert["auto_actions"] == ["activate_pino_hundun"]
    assert len({a["alert"]["id"] for a in alerts}) == 1
    action = voices.next("recovery_action")
    assert action["action"] == "activate_pino_hundun" and action["trigger"] == "clarity > 0.9"
    activated = {voices.next("voice_activation")["voice"] for _ in range(2)}
    assert activated == {"pino", "hundun"}
    send_metric(pulse, "clarity", 0.8)
    resolved = pulse.next("alert_resolved")
    assert resolved["alert_id"] == alert["id"]
    assert {voices.next("voice_deactivation")["voice"] for _ in range(2)} == {"pino", "hundun"}
    for peer in (pulse, seams, voices):
        peer.close()
    dsn = system.app.config.database_url
    # Derived rows are written off the ack path, so they may land a moment after the events.
    assert eventually_rows(dsn, "SELECT action FROM recovery_actions") == \
        [("activate_pino_hundun",)]
    assert eventually_rows(dsn, "SELECT priority, resolved_at IS NOT NULL FROM alerts "
                                "WHERE resolved_at IS NOT NULL") == [("P1", True)]


def test_escalation_keeps_the_id_and_downgrade_is_silent(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    with Peer(system.url("pulse")) as peer:
        peer.request({"type": "subscribe", "channels": ["alerts"]}, "subscribed")
        send_metric(peer, "pain", 0.55)
        p2 = peer.next("slo_alert")["alert"]
        send_metric(peer, "pain", 0.75)
        p0 = peer.next("slo_alert")["alert"]
        assert (p2["priority"], p0["priority"]) == ("P2", "P0") and p2["id"] == p0["id"]
        send_metric(peer, "pain", 0.65)  # lower non-OK band: nothing
        send_metric(peer, "pain", 0.3)
        resolved = peer.next("alert_resolved")
        assert resolved["alert_id"] == p0["id"]
        assert [f["type"] for f in peer.backlog if f["type"] == "slo_alert"] == []


def test_event_seq_is_per_dashboard_and_strictly_increasing(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    with Peer(system.url("seams")) as seams:
        seams.request({"type": "subscribe", "channels": ["seams", "alerts"]}, "subscribed")
        for value in (0.95, 0.8, 0.95, 0.8):
            send_metric(seams, "clarity", value)
        events = [seams.next("slo_alert"), seams.next("alert_resolved"),
                  seams.next("slo_alert"), seams.next("alert_resolved")]
        events += [f for f in seams.backlog if "seq" in f and f["type"] not in
                   ("heartbeat",)]
    seqs = sorted(e["seq"] for e in events)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_seam_when_the_state_changes(make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    with Peer(system.url("seams")) as peer:
        peer.request({"type": "subscribe", "channels": ["seams"]}, "subscribed")
        peer.request({"type": "metrics", "data": {"chaos": 0.75, "clarity": 0.55}},
                     "metrics_received")
        seam = peer.next("seam", to="CHAOTIC_CREATION")
        assert seam["seam_type"] == "chaos_seam"
        assert seam["intensity"] == round(abs(0.75 - 0.55) + abs(0.3 - 0.8), 3)


def test_7_3_kain_activates_and_iskra_joins_a_second_voice(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    with Peer(system.url("voices")) as peer:
        peer.request({"type": "subscribe", "channels": ["voices"]}, "subscribed")
        send_metric(peer, "chaos", 0.75)
        kain = peer.next("voice_activation", voice="kain")
        assert kain["trigger"] == "chaos > 0.7" and kain["reason"] == "metric"
        send_metric(peer, "trust", 0.55)
        assert peer.next("voice_activation", voice="anhantra")["reason"] == "metric"
        assert peer.next("voice_activation", voice="iskra")["reason"] == "synthesis"


def test_resume_restores_channels_and_replays_missed_events_in_order(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(FAST)
    first = Peer(system.url("pulse"))
    session = first.welcome["session_id"]
    first.request({"type": "subscribe", "channels": ["alerts", "pain"]}, "subscribed")
    with Peer(system.url("pulse")) as producer:
        send_metric(producer, "pain", 0.75)
        last_seq = first.next("slo_alert")["seq"]
        first.close()
        send_metric(producer, "pain", 0.3)
        send_metric(producer, "pain", 0.75)
    with Peer(system.url("pulse")) as second:
        second.send({"type": "resume", "session_id": session, "last_seq": last_seq})
        resumed = second.next("resumed")
        assert resumed["channels"] == ["pain", "alerts"]
        assert resumed["session_id"] == second.welcome["session_id"] != session
        # Missed: the recovery action of the first alert, the resolve, the second alert
        # and its recovery action, all on "alerts", in order.
        assert resumed["replayed"] == 4
        replay = [frame for frame in (json.loads(second.ws.recv(timeout=5))
                                      for _ in range(8))
                  if frame["type"] not in ("heartbeat", "metrics_update")][:4]
        assert [e["type"] for e in replay] == ["recovery_action", "alert_resolved",
                                               "slo_alert", "recovery_action"]
        assert [e["seq"] for e in replay] == [last_seq + 1, last_seq + 2, last_seq + 3,
                                              last_seq + 4]
        again = second.request({"type": "resume", "session_id": session, "last_seq": 0},
                               "error")
        assert again["code"] == "unknown_session"


def test_ack_alert_acknowledges_an_open_alert(make_system: Callable[..., RunningSystem]):
    system = make_system(FAST)
    with Peer(system.url("pulse")) as peer:
        peer.request({"type": "subscribe", "channels": ["alerts"]}, "subscribed")
        send_metric(peer, "trust", 0.5)
        alert_id = peer.next("slo_alert")["alert"]["id"]
        reply = peer.request({"type": "ack_alert", "alert_id": alert_id, "id": "a"},
                             "alert_acknowledged")
        assert reply == {"type": "alert_acknowledged", "alert_id": alert_id, "status": "ok",
                         "id": "a"}
        assert peer.request({"type": "ack_alert", "alert_id": "nope"}, "error")["code"] == \
            "validation_error"
