*** Settings ***
Documentation     Scenario 10: security — validation against injection, rate limiting,
...               connection limits, authentication and Origin checks.

Resource          ../resources/dashboards.resource
Resource          ../resources/database.resource
Resource          ../resources/performance.resource

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections

Test Tags         section:10-security


*** Variables ***
# Messages carrying SQL injection or XSS, each to be rejected whole. Each comes from one of
# HOSTILE_SOURCES, so that rows of theirs (there must be none) can be told from other tests'.
@{HOSTILE_SOURCES}     x'; DROP TABLE metrics;--    <script>alert(1)</script>    hostile_10_1
# robocop: off=LEN08
@{HOSTILE_MESSAGES}
...                    {"type": "metrics", "data": {"clarity": 0.8}, "source": "x'; DROP TABLE metrics;--"}
...                    {"type": "metrics", "data": {"clarity": 0.8}, "source": "<script>alert(1)</script>"}
...                    {"type": "metric_update", "metric": "clarity'; DELETE FROM metrics;--", "value": 0.5, "source": "hostile_10_1"}
...                    {"type": "metric_update", "metric": "pain", "value": "0.5; DROP TABLE metrics", "source": "hostile_10_1"}
...                    {"type": "metrics", "data": {"<img src=x onerror=alert(1)>": 0.5}, "source": "hostile_10_1"}
...                    {"type": "metrics_batch", "records": [{"metric": "trust", "value": "<b>1</b>"}], "source": "hostile_10_1"}
# robocop: on=LEN08


*** Test Cases ***
10.1 SQL Injection And XSS In Messages Are Rejected
    [Documentation]    Every hostile message is rejected whole with ``validation_error``, and
    ...    nothing of it reaches the database.
    [Tags]    rule:validation.source-format
    ...       rule:validation.metric-names
    ...       rule:validation.value-range
    ...       rule:validation.rejected-whole
    [Setup]    Hold The Metric Values
    Connect To Dashboard    pulse
    Connect To The Metrics Database
    ${before}=    Count Hostile Rows
    ${rejected}=    Count Messages Rejected    @{HOSTILE_MESSAGES}
    ${after}=    Count Hostile Rows
    Should Be Equal    ${after}    ${before}    hostile data was stored
    ${total}=    Get Length    ${HOSTILE_MESSAGES}
    ${percent}=    Percent Of    ${rejected}    ${total}
    Figure Should Meet Target    10.1    hostile messages rejected
    ...    ${percent}    >=    100    unit=%
    [Teardown]    Run Keywords    Disconnect From All Databases
    ...    AND    Restore Baseline And Release The Metric Values

10.2 A Flood Of 1000 Messages Per Second Is Rate Limited
    [Documentation]    1000 pings in one second: every one is answered, by a pong or by
    ...    ``rate_limited`` with ``retry_after_ms``; no more pass than the token bucket allows,
    ...    and the connection stays open.
    [Tags]    rule:limits.rate-token-bucket
    ...       rule:limits.rate-limited-not-processed
    ...       rule:errors.connection-stays-open
    ...       rule:frames.id-echoed
    Connect To Dashboard    pulse
    ${sent}=    Send At Rate    {"type": "ping", "timestamp": 1, "id": 0}    rate=1000
    ...    duration=1s    sequence_field=id
    ${answers}=    Wait For Messages    ${sent}[sent]    path=$.type    assertion_operator=matches
    ...    assertion_expected=^(pong|error)$    timeout=10s
    ${pongs}=    Flood Answers Should Respect The Rate Limit    ${answers}    ${sent}[elapsed_s]
    Each Message Should Be Answered Once By Id    ${answers}    ${sent}[sent]
    Connection Should Be Open
    Record Figure    10.2    messages passed in a 1000/s flood    ${pongs}    unit=messages

10.2 Sustained Abuse Closes The Connection With 1008
    [Documentation]    A client that keeps exceeding the limit (over 1000 rejected messages in
    ...    10 s) is disconnected with close code 1008 (policy violation).
    [Tags]    rule:limits.rate-abuse-1008
    Connect To Dashboard    pulse
    Run Keyword And Ignore Error    Send At Rate    {"type": "ping"}    rate=2000    duration=2s
    Connection Should Be Closed    code=1008    timeout=10s

10.2 A Client That Stops Reading Is Disconnected With 1008
    [Documentation]    A client sends pings and reads none of the pongs until the server owes
    ...    it more than 4 × ``MAX_MESSAGE_BYTES``: the server closes the connection with 1008
    ...    instead of buffering without bound, and its memory stays bounded.
    [Tags]    rule:frames.unread-buffer-1008
    &{plan}=    Plan A Client That Owes More Than The Unread Bound
    ${unwatched}=    Start Watching The System
    ${result}=    Run Slow Consumer    ${SYSTEM}[urls][pulse]
    ...    {"type": "ping", "timestamp": 1, "id": "{id}"}    unread_bytes=${plan}[unread_bytes]
    ...    rate=${plan}[rate]    id_digits=64    max_duration=20s    &{SYSTEM}[producer]
    Server RSS Growth Should Stay Bounded    ${unwatched}    ${plan}[bound]
    Should Be Equal    ${result}[ended]    close frame
    ...    The server owed ${result}[unread_bytes] bytes of replies and the connection ended: ${result}[ended]
    Should Be Equal As Integers    ${result}[close_code]    1008

10.3 Connections Beyond The Limit Are Refused With 503
    [Documentation]    The Voices dashboard accepts connections up to its limit; the next
    ...    handshake is refused with HTTP 503 and Retry-After, and the open ones keep working.
    [Tags]    rule:limits.max-connections-503    rule:limits.max-connections-established-unaffected
    [Setup]    Hold The Metric Values
    ${opened}=    Open Connections Until Refused    voices    beyond=${MAX_CONNECTIONS}
    ${refusal}=    Connect Should Be Refused    ${SYSTEM}[urls][voices]    status=503
    ...    response_headers={"Retry-After": "*"}    &{SYSTEM}[producer]
    Should Be True    int($refusal['headers']['retry-after']) > 0
    Measure Round Trip    {"type": "ping", "timestamp": 5}    {"type": "pong", "timestamp": 5}
    ...    alias=v0
    # Other tests of the run may hold a few connections to Voices meanwhile.
    Should Be True    ${MAX_CONNECTIONS} - 20 <= ${opened} <= ${MAX_CONNECTIONS}
    Record Figure    10.3    connections accepted before refusal
    ...    ${opened}    <=    ${MAX_CONNECTIONS}    unit=connections
    [Teardown]    Restore Baseline And Release The Metric Values

10.4 Handshakes Without A Valid Token Are Refused With 401
    [Documentation]    With bearer-token auth, a handshake with no token or an unknown one is
    ...    refused with HTTP 401; the producer's token (as a header) and the viewer's (as
    ...    ``?token=``) are let in.
    [Tags]    rule:auth.token-required-401    rule:auth.token-header-or-query
    [Setup]    The Target Should Require Tokens
    Connect Should Be Refused    ${SYSTEM}[urls][pulse]    status=401    &{SYSTEM}[tls]
    Connect Should Be Refused    ${SYSTEM}[urls][pulse]    status=401    token=not-a-known-token
    ...    &{SYSTEM}[tls]
    Connect To Dashboard    pulse    alias=producer
    VAR    ${viewer_url: Secret}    ${SYSTEM}[urls][seams]?token=${SYSTEM}[access][viewer_token]
    Connect    ${viewer_url}    alias=viewer    &{SYSTEM}[tls]
    Wait For Message    {"type": "welcome", "dashboard": "seams"}    alias=viewer

10.4 A Viewer May Subscribe But Not Send Metrics
    [Documentation]    A ``viewer`` may ping and subscribe; sending metrics or ``ack_alert`` is
    ...    ``forbidden`` and the connection stays open. A ``producer`` may send.
    [Tags]    rule:auth.viewer-subscribe-and-ping
    ...       rule:auth.viewer-metrics-forbidden
    ...       rule:auth.viewer-ack-forbidden
    ...       rule:frames.id-echoed
    ...       rule:errors.connection-stays-open
    [Setup]    Hold The Metric Values Of A Target With Tokens
    Connect To Dashboard    pulse    alias=viewer    role=viewer
    Subscribe To    viewer    pain
    Measure Round Trip    {"type": "ping", "timestamp": 4}    {"type": "pong", "timestamp": 4}
    ...    alias=viewer
    Send Json    {"type": "metric_update", "metric": "pain", "value": 0.3, "id": 1}    alias=viewer
    Wait For Message    {"type": "error", "code": "forbidden", "id": 1}    alias=viewer
    Send Json    {"type": "ack_alert", "alert_id": "a1", "id": 2}    alias=viewer
    Wait For Message    {"type": "error", "code": "forbidden", "id": 2}    alias=viewer
    Connection Should Be Open    viewer
    Connect To Dashboard    pulse    alias=producer
    Set Metric    pain    0.3    alias=producer
    [Teardown]    Restore Baseline And Release The Metric Values

10.5 A Handshake From An Origin Not Allowed Is Refused With 403
    [Documentation]    With an Origin allow-list, a listed Origin (or none, as non-browser
    ...    clients send) is let in; any other Origin is refused with HTTP 403.
    [Tags]    rule:auth.origin-not-listed-403    rule:auth.origin-listed-or-absent
    [Setup]    The Target Should Check Origins
    Connect Should Be Refused    ${SYSTEM}[urls][pulse]    status=403
    ...    origin=${SYSTEM}[access][refused_origin]    &{SYSTEM}[producer]
    Connect    ${SYSTEM}[urls][pulse]    origin=${SYSTEM}[access][allowed_origin]
    ...    &{SYSTEM}[producer]
    Wait For Message    {"type": "welcome", "dashboard": "pulse"}
    Connect To Dashboard    pulse    alias=no_origin

10.5 A Repeated Origin Or Authorization Header Is Refused With 400
    [Documentation]    A malformed handshake is refused with HTTP 400, never 500 and never
    ...    let in: one with its Origin header twice (an Origin the target allows, where the
    ...    variables name one), one with its Authorization header twice (the producer's token
    ...    both times, where the target requires tokens).
    [Tags]    rule:auth.repeated-origin-400    rule:auth.repeated-authorization-400
    ${origin}=    An Origin The Target Allows
    Handshake With Origin Twice Should Be Refused    ${origin}
    ${token}=    A Token The Target Accepts
    Handshake With Authorization Twice Should Be Refused    ${token}


*** Keywords ***
The Target Should Require Tokens
    [Documentation]    Skips the test, with the reason, unless the variables name the target's
    ...    producer and viewer tokens.
    VAR    ${reason}    The variables name no PRODUCER_TOKEN and VIEWER_TOKEN of the target.
    Skip If    not ($SYSTEM['access']['producer_token'] and $SYSTEM['access']['viewer_token'])
    ...    ${reason}

Hold The Metric Values Of A Target With Tokens
    [Documentation]    `The Target Should Require Tokens`, then `Hold The Metric Values`.
    The Target Should Require Tokens
    Hold The Metric Values

The Target Should Check Origins
    [Documentation]    Skips the test, with the reason, unless the variables name an Origin the
    ...    target allows and one it refuses.
    VAR    ${reason}    The variables name no ALLOWED_ORIGIN and REFUSED_ORIGIN of the target.
    Skip If    not ($SYSTEM['access']['allowed_origin'] and $SYSTEM['access']['refused_origin'])
    ...    ${reason}

Count Hostile Rows
    [Documentation]    The rows of ``metrics`` from any of ``HOSTILE_SOURCES``.
    VAR    @{parameters}    ${HOSTILE_SOURCES}
    ${rows}=    Query    SELECT count(*) FROM metrics WHERE source = ANY(%s)
    ...    parameters=${parameters}    alias=metrics
    RETURN    ${rows}[0][0]

Count Messages Rejected
    [Documentation]    Sends each message verbatim; counts those answered with
    ...    ``validation_error``.
    [Arguments]    @{messages}
    VAR    ${rejected}    ${0}
    FOR    ${message}    IN    @{messages}
        Send Text    ${message}
        ${ok}=    Run Keyword And Return Status
        ...    Wait For Message    {"type": "error", "code": "validation_error"}
        IF    ${ok}    VAR    ${rejected}    ${rejected + 1}
    END
    RETURN    ${rejected}

Flood Answers Should Respect The Rate Limit
    [Documentation]    Of the ``answers`` to a flood, some are ``rate_limited`` with a
    ...    positive ``retry_after_ms``; no more pongs than the bucket allows. Returns the pongs.
    [Arguments]    ${answers}    ${elapsed_s}
    ${pongs}=    Evaluate    sum(1 for a in $answers if a['type'] == 'pong')
    ${limited}=    Evaluate    [a for a in $answers if a.get('code') == 'rate_limited']
    Should Not Be Empty    ${limited}    the flood was not rate limited
    Should Be True    all(a['retry_after_ms'] > 0 for a in $limited)
    ${allowed}=    Evaluate    ${RATE_LIMIT_BURST} + ${RATE_LIMIT_PER_S} * (${elapsed_s} + 0.5)
    Should Be True    ${pongs} <= ${allowed}    ${pongs} pongs passed, at most ${allowed} allowed
    RETURN    ${pongs}

Each Message Should Be Answered Once By Id
    [Documentation]    The ``answers`` to ``count`` messages numbered 0 … count - 1 in their
    ...    ``id``: each answer, ``rate_limited`` ones included, carries the id of one of them,
    ...    and each id is answered once.
    [Arguments]    ${answers}    ${count}
    ${ids}=    Evaluate    sorted(a.get('id', -1) for a in $answers)
    ${missing}=    Evaluate    [a for a in $answers if 'id' not in a]
    ${examples}=    Evaluate    $missing[:3]
    Should Be Empty    ${missing}    ${{len($missing)}} answers carry no id, e.g. ${examples}
    ${expected}=    Evaluate    list(range(${count}))
    Lists Should Be Equal    ${ids}    ${expected}    each id must be answered exactly once

An Origin The Target Allows
    [Documentation]    The Origin the variables name as allowed, else any (a target with no
    ...    allow-list lets every Origin in).
    IF    $SYSTEM['access']['allowed_origin']
        RETURN    ${SYSTEM}[access][allowed_origin]
    END
    RETURN    https://dashboards.example

A Token The Target Accepts
    [Documentation]    The producer's token where the variables name one, else any (a target
    ...    without tokens does not read it).
    IF    $SYSTEM['access']['producer_token']
        RETURN    ${SYSTEM}[access][producer_token]
    END
    RETURN    any-token

Handshake With Origin Twice Should Be Refused
    [Documentation]    A handshake to Pulse with two Origin headers, both ``origin``, is
    ...    refused with HTTP 400.
    [Arguments]    ${origin}
    VAR    @{pair}    Origin    ${origin}
    VAR    @{headers}    ${pair}    ${pair}
    Connect Should Be Refused    ${SYSTEM}[urls][pulse]    status=400    headers=${headers}
    ...    &{SYSTEM}[producer]

Handshake With Authorization Twice Should Be Refused
    [Documentation]    A handshake to Pulse with two Authorization headers, both bearing
    ...    ``token``, is refused with HTTP 400.
    [Arguments]    ${token}
    VAR    @{tokens}    ${token}    ${token}
    Connect Should Be Refused    ${SYSTEM}[urls][pulse]    status=400    token=${tokens}
    ...    &{SYSTEM}[tls]

Plan A Client That Owes More Than The Unread Bound
    [Documentation]    The ``bound`` (4 × the target's ``MAX_MESSAGE_BYTES``), the
    ...    ``unread_bytes`` to leave unread (that plus what the network holds, and over TLS
    ...    what a transport below the TLS layer holds) and the ``rate`` of pings (95 % of the
    ...    rate limit). Skips the test, with the reason, when pongs of 110 bytes or more (the
    ...    smallest pong echoing a 64-character id) at that rate cannot add up to
    ...    ``unread_bytes`` in 18 s: the keepalive pings after 20 s a client that does not read.
    VAR    ${bound}    ${4 * ${SYSTEM}[max_message_bytes]}
    ${over_tls}=    Evaluate    $SYSTEM['urls']['pulse'].startswith('wss:')
    ${network}=    Evaluate    $SLOW_CONSUMER_NETWORK_BYTES + $SLOW_CONSUMER_TLS_BYTES * $over_tls
    ${rate}=    Evaluate    0.95 * ${RATE_LIMIT_PER_S}
    VAR    &{plan}    bound=${bound}    unread_bytes=${bound + ${network}}    rate=${rate}
    ${seconds}=    Evaluate    round($plan['unread_bytes'] / ($plan['rate'] * 110), 1)
    VAR    ${reason}
    ...    With MAX_MESSAGE_BYTES ${SYSTEM}[max_message_bytes], a client allowed
    ...    ${RATE_LIMIT_PER_S} messages/s needs about ${seconds} s to be owed
    ...    ${plan}[unread_bytes] bytes, and the keepalive pings it after 20 s: run against a
    ...    deployment with a smaller MAX_MESSAGE_BYTES to test the bound.
    ...    separator=${SPACE}
    Skip If    ${seconds} > 18    ${reason}
    RETURN    ${plan}

Server RSS Growth Should Stay Bounded
    [Documentation]    Stops sampling the system (see `Start Watching The System`) and
    ...    records the growth of its RSS while the client did not read: under the unread
    ...    ``bound`` plus 64 MiB (room for whatever else the run does meanwhile).
    [Arguments]    ${unwatched}    ${bound}
    IF    $unwatched
        Record Not Checked    10.2    server RSS while a client did not read    ${unwatched}
        RETURN
    END
    ${resources}=    Stop Resource Monitor    charts=${False}
    ${growth}=    Evaluate    $resources['rss']['max'] - $resources['rss']['first']
    Figure Should Meet Target    10.2    server RSS growth while a client did not read
    ...    ${growth}    <    ${bound / 1048576 + 64}    unit=MiB

Open Connections Until Refused
    [Documentation]    Opens connections to ``dashboard`` (aliases v0, v1, …) until one is
    ...    refused or one more than the limit ``beyond`` is open; returns how many opened.
    [Arguments]    ${dashboard}    ${beyond}
    VAR    ${limit}    ${beyond + 1}
    ${level}=    Set Log Level    NONE
    VAR    ${opened}    ${0}
    WHILE    ${opened} < ${limit}
        ${ok}=    Run Keyword And Return Status    Connect    ${SYSTEM}[urls][${dashboard}]
        ...    alias=v${opened}    &{SYSTEM}[producer]
        IF    not ${ok}    BREAK
        VAR    ${opened}    ${opened + 1}
    END
    Set Log Level    ${level}
    RETURN    ${opened}
