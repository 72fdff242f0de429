*** Settings ***
Documentation     Scenario 4: connection stability.

Resource          ../resources/dashboards.resource
Library           LoadGenerator

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections

Test Tags         section:4-stability


*** Test Cases ***
4.1 A 60 Second Connection Keeps Its Heartbeat
    [Documentation]    Over 60 s the connection never drops and the heartbeat arrives every
    ...    5 s: at least 11 heartbeats with consecutive ``seq`` numbers.
    [Tags]    long
    ...       rule:heartbeat.interval
    ...       rule:heartbeat.seq-per-connection
    ...       rule:heartbeat.sixty-second-connection
    Connect To Dashboard    pulse
    ${start}=    Start Stopwatch
    ${count}=    Count Heartbeats For    ${LONG_CONNECTION_SECONDS}
    ${elapsed}=    Milliseconds Since    ${start}
    Connection Should Be Open    pulse
    Figure Should Meet Target    4.1    heartbeats in 60 s
    ...    ${count}    >=    ${HEARTBEATS_MIN_COUNT}    unit=heartbeats
    ${mean}=    Mean Interval    ${elapsed} ms    ${count}
    Record Figure    4.1    mean heartbeat interval
    ...    ${mean}    <=    ${HEARTBEAT_MEAN_INTERVAL_MAX_MS}    unit=ms

4.1 An Idle Connection Gets WebSocket Ping Frames And Stays Open
    [Documentation]    A connection that sends nothing and answers ping frames receives one
    ...    within 25 s (the contract's interval is 20 s) and is never dropped.
    [Tags]    long    rule:ping.ws-ping-frames
    ${idle}=    Run Idle Client    ${SYSTEM}[urls][pulse]    duration=25s    &{SYSTEM}[producer]
    Should Not Be Empty    ${idle}[pings_s]    no WebSocket ping frame arrived in 25 s
    Should Be Equal    ${idle}[ended]    open

4.1 A Peer That Never Answers Pings Is Closed With 1011
    [Documentation]    A connection that reads everything but never answers a ping frame is
    ...    closed by the server with 1011 about 20 s after the first unanswered ping.
    [Tags]    long    rule:ping.ws-ping-timeout-1011
    ${idle}=    Run Idle Client    ${SYSTEM}[urls][pulse]    duration=50s    answer_pings=${False}
    ...    &{SYSTEM}[producer]
    Should Be Equal    ${idle}[ended]    close frame
    ...    the connection did not end with a close frame within 50 s: ${idle}
    Should Be Equal As Integers    ${idle}[close_code]    1011
    The Close Should Come About 20 Seconds After The First Unanswered Ping    ${idle}

4.2 Reconnection After An Artificial Break Restores The Subscriptions
    [Documentation]    The connection is cut without a close frame; the client reconnects by
    ...    itself and resumes its session: within 5 s of the break the ``resumed`` reply has
    ...    arrived with the subscriptions, and updates flow again.
    [Tags]    rule:resume.restores-subscriptions    rule:resume.reply-fields
    Open Session    pulse
    Subscribe To    pulse    clarity    alerts
    Enable Auto Reconnect    alias=pulse    initial_delay=50ms    max_delay=1s
    ...    resume={"type": "resume", "session_id": "{{$.session_id}}", "last_seq": 0}
    ${start}=    Start Stopwatch
    ${resumed}=    Cut The Connection And Wait For The Resumed Session    pulse
    ${recovery}=    Milliseconds Until Last Arrival    ${start}    pulse
    Frame Should Follow The Contract    ${resumed}
    Channels Should Be    ${resumed}[channels]    clarity    alerts
    Wait For Message    {"type": "metrics_update"}    timeout=2s    alias=pulse
    Figure Should Meet Target    4.2    break to session resumed
    ...    ${recovery}    <    ${RECOVERY_LIMIT_MS}    unit=ms

4.2 A Resumed Session Replays The Events It Missed In Order
    [Documentation]    A session subscribed to ``alerts`` breaks after its first alert; the
    ...    events of the outage (escalation, recovery action, resolution) are replayed to
    ...    the resuming connection after its ``resumed`` reply, with ``seq`` numbers counting
    ...    on by one from the last one it had seen.
    [Tags]    rule:resume.replays-missed-events
    ...       rule:resume.resumed-first
    ...       rule:resume.reply-fields
    ...       rule:events.seq-per-dashboard
    [Setup]    Hold The Metric Values
    ${session}    ${last}=    Open A Session That Saw An Alert
    Abort Connection    before
    Change Pain While The Session Is Away
    Connect To Dashboard    pulse    alias=after
    Send Json    {"type": "resume", "session_id": "${session}", "last_seq": ${last}}    alias=after
    ${resumed}=    Wait For Message    {"type": "resumed", "status": "ok"}    alias=after
    Frame Should Follow The Contract    ${resumed}
    Channels Should Be    ${resumed}[channels]    alerts
    Should Be True    ${resumed}[replayed] >= 3    ${resumed}[replayed] events replayed
    Replayed Events Should Follow In Order    ${last}    ${resumed}[replayed]
    [Teardown]    Restore Baseline And Release The Metric Values

4.2 Resuming An Unknown Session Is Refused
    [Documentation]    A ``resume`` naming a session the dashboard does not know (any string
    ...    may be a session id, even ``x``) is refused with ``unknown_session``, echoing the
    ...    message's id; the connection stays usable.
    [Tags]    rule:resume.unknown-session
    Connect To Dashboard    pulse
    ${error}=    Error Should Answer
    ...    {"type": "resume", "session_id": "x", "last_seq": 0, "id": "r1"}
    ...    unknown_session
    Should Be Equal    ${error}[id]    r1

4.2 A Session Gone Longer Than Its Time To Live Cannot Be Resumed
    [Documentation]    A session that disconnected more than ``SESSION_TTL_S`` ago is
    ...    expired: resuming it is refused with ``unknown_session``.
    [Tags]    long    rule:resume.expired-session
    ${welcome}=    Open Session    pulse    alias=gone
    Close Connection    alias=gone
    Let The Session Time To Live Pass
    Connect To Dashboard    pulse
    Error Should Answer
    ...    {"type": "resume", "session_id": "${welcome}[session_id]", "last_seq": 0}
    ...    unknown_session

4.3 Ten Parallel Connections Work Stably
    [Documentation]    10 connections to Pulse and Seams stay open and each one answers a ping
    ...    while all are open. (Voices is left to the connection-limit test.)
    [Tags]    rule:ping.pong-echoes-timestamp
    Open Connections To Pulse And Seams In Turn    ${PARALLEL_CONNECTIONS}
    ${working}=    Percentage Of Connections That Answer A Ping    ${PARALLEL_CONNECTIONS}
    Figure Should Meet Target    4.3    parallel connections working
    ...    ${working}    >    ${CONNECTION_STABILITY_MIN_PERCENT}    unit=%


*** Keywords ***
Let The Session Time To Live Pass
    [Documentation]    Waits SESSION_TTL_S and 2 s more, so that the session of a connection
    ...    closed before is expired. The wait is what 4.2 tests, not a synchronisation:
    ...    nothing can be polled for a session's expiry without resuming (and so renewing) it.
    Sleep    ${SESSION_TTL_S + 2}s    the session of the closed connection expires

Open Connections To Pulse And Seams In Turn
    [Documentation]    Opens ``count`` connections, aliases c0, c1, …, to Pulse and Seams in
    ...    turn, each waiting for its welcome.
    [Arguments]    ${count}
    VAR    @{dashboards}    pulse    seams
    FOR    ${index}    IN RANGE    ${count}
        ${dashboard}=    Evaluate    $dashboards[${index} % 2]
        Connect To Dashboard    ${dashboard}    alias=c${index}
    END

Percentage Of Connections That Answer A Ping
    [Documentation]    With ``count`` connections c0, c1, … open, pings each; returns the
    ...    percentage that answer with their pong (within the default timeout) and stay open.
    ...    A connection that does not is logged as a warning (the figure's target decides).
    [Arguments]    ${count}
    VAR    ${working}    ${0}
    FOR    ${index}    IN RANGE    ${count}
        ${ok}=    Run Keyword And Return Status    Connection Should Answer A Ping    c${index}
        IF    ${ok}    VAR    ${working}    ${working + 1}
        IF    not ${ok}
            Log    Connection c${index} did not answer a ping    WARN
        END
    END
    RETURN    ${working * 100 / ${count}}

Connection Should Answer A Ping
    [Documentation]    The connection ``alias`` answers a ping with its pong and stays open.
    [Arguments]    ${alias}
    Measure Round Trip    {"type": "ping", "timestamp": 7}    {"type": "pong", "timestamp": 7}
    ...    alias=${alias}
    Connection Should Be Open    ${alias}

Count Heartbeats For
    [Documentation]    Keeps the connection for ``seconds`` and counts the heartbeats; each must
    ...    carry the next ``seq`` and arrive within 1.5 intervals of the previous one.
    [Arguments]    ${seconds}
    ${start}=    Start Stopwatch
    VAR    ${count}    ${0}
    ${gap}=    Evaluate    ${HEARTBEAT_INTERVAL_MS} * 1.5 / 1000
    WHILE    True
        ${left}=    Evaluate    ${seconds} - (time.perf_counter() * 1000 - ${start}) / 1000
        ...    modules=time
        IF    ${left} <= 0    BREAK
        ${received}=    Next Heartbeat Should Arrive    ${left}    ${gap}    ${count + 1}
        IF    not ${received}    BREAK
        ${count}=    Evaluate    ${count} + 1
    END
    RETURN    ${count}

Open A Session That Saw An Alert
    [Documentation]    Opens a session on Pulse (alias ``before``) subscribed to ``alerts`` and
    ...    raises P2 alerts of chaos and then pain that it receives; returns the session id
    ...    and the pain alert's ``seq``.
    ${welcome}=    Open Session    pulse    alias=before
    Subscribe To    before    alerts
    # An earlier event too: a replay must leave out everything up to last_seq.
    Set Metric    chaos    0.25    alias=before
    Wait For Message    {"type": "slo_alert", "alert": {"metric": "chaos"}}    alias=before
    Set Metric    pain    0.55    alias=before
    ${alert}=    Wait For Message    {"type": "slo_alert", "alert": {"metric": "pain"}}
    ...    alias=before
    RETURN    ${welcome}[session_id]    ${alert}[seq]

Change Pain While The Session Is Away
    [Documentation]    On a connection of its own: pain 0.75 (the alert escalates to P0 and
    ...    emergency recovery starts), then 0.3 (it resolves).
    Connect To Dashboard    pulse    alias=meanwhile
    Set Metric    pain    0.75    alias=meanwhile
    Set Metric    pain    0.3    alias=meanwhile
    Close Connection    alias=meanwhile

Replayed Events Should Follow In Order
    [Documentation]    The ``count`` replayed events arrive after the ``resumed`` reply, with
    ...    ``seq`` last+1, last+2, … (all of Pulse's events are on ``alerts``), the last being
    ...    the resolution.
    [Arguments]    ${last}    ${count}
    ${resumed_at}=    Get Last Message Arrival    after
    ${first}=    Wait For Message    {"seq": ${last + 1}}    path=$.type    assertion_operator=matches
    ...    assertion_expected=^(slo_alert|alert_resolved|recovery_action)$    alias=after
    ${first_at}=    Get Last Message Arrival    after
    Should Be True    ${first_at} >= ${resumed_at}    The first replayed event came before resumed.
    ${rest}=    Wait For Messages    ${count - 1}    path=$.type    assertion_operator=matches
    ...    assertion_expected=^(slo_alert|alert_resolved|recovery_action)$    alias=after
    ${seqs}=    Evaluate    [event['seq'] for event in [$first, *$rest]]
    ${expected}=    Evaluate    list(range(${last} + 1, ${last} + 1 + ${count}))
    Should Be Equal    ${seqs}    ${expected}
    Should Be Equal    ${rest}[-1][type]    alert_resolved

Cut The Connection And Wait For The Resumed Session
    [Documentation]    Aborts the connection (no close frame), waits for the automatic
    ...    reconnection and returns the server's ``resumed`` reply.
    [Arguments]    ${alias}
    Abort Connection    ${alias}
    Wait For Reconnection    timeout=5s    alias=${alias}
    ${resumed}=    Wait For Message    {"type": "resumed", "status": "ok"}    alias=${alias}
    RETURN    ${resumed}

Next Heartbeat Should Arrive
    [Documentation]    Waits for the heartbeat numbered ``seq`` for up to ``gap`` seconds; False
    ...    when the observation (``left`` seconds) ends first, a failure when it is missing.
    [Arguments]    ${left}    ${gap}    ${seq}
    ${status}    ${heartbeat}=    Run Keyword And Ignore Error
    ...    Wait For Message    {"type": "heartbeat"}    timeout=${{ min($gap, $left) }}    alias=pulse
    IF    $status == 'FAIL' and ${left} > ${gap}    Fail    ${heartbeat}
    IF    $status == 'FAIL'    RETURN    ${False}
    Frame Should Follow The Contract    ${heartbeat}
    Should Be Equal As Integers    ${heartbeat}[seq]    ${seq}
    RETURN    ${True}

The Close Should Come About 20 Seconds After The First Unanswered Ping
    [Documentation]    From the ``idle`` result of `Run Idle Client`: the server waited for
    ...    the pong about 20 s (19 to 25 s), and records how long.
    [Arguments]    ${idle}
    ${waited}=    Evaluate    $idle['ended_after_s'] - $idle['pings_s'][0]
    Should Be True    ${waited} >= 19    the server closed ${waited} s after its ping
    Figure Should Meet Target    4.1    close after an unanswered ping
    ...    ${waited}    <    25    unit=s
