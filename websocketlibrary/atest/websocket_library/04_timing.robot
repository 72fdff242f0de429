*** Settings ***
Documentation    Heartbeats checked in the background, round trips and their percentiles.

Resource         ../resources/websocket.resource


*** Test Cases ***
Heartbeats Are Watched While Other Keywords Run
    [Documentation]    A heartbeat monitor judges the rhythm in the background while other keywords run.
    [Template]    Heartbeats Should Be Healthy
    python
    node

Missing Heartbeats Fail The Monitor
    [Documentation]    Expected-error test: heartbeats that stop make the monitor unhealthy.
    [Template]    Missing Heartbeats Should Be Reported
    python
    node

Round Trips Are Measured With Percentiles
    [Documentation]    Measure Round Trips reports HDR percentiles closed loop and on a schedule; lost replies fail.
    [Template]    Round Trips Should Be Measured
    python
    node

Protocol Ping Is Answered
    [Documentation]    A WebSocket protocol ping is answered with a pong.
    [Template]    Ping Should Be Answered
    python
    node


*** Keywords ***
Heartbeats Should Be Healthy
    [Documentation]    Heartbeats every 100 ms judged over 1 s while other keywords run.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Start Heartbeat Monitor    {"type": "heartbeat"}    interval=100ms    tolerance=60ms
    ...    period=1s    consume=True
    Send Json    {"cmd": "heartbeat", "interval_ms": 100, "count": 15}
    Measure Round Trip    {"type": "ping", "id": 1}    {"type": "ping", "id": 1}
    Send Json    {"cmd": "burst", "count": 3}
    Wait For Messages    3    {"type": "update"}
    ${stats}=    Heartbeat Monitor Should Be Healthy    minimum_beats=8
    Should Be True    ${stats}[max_interval_ms] < 160
    ${buffered}=    Get Buffered Messages    {"type": "heartbeat"}
    Should Be Empty    ${buffered}

Missing Heartbeats Should Be Reported
    [Documentation]    Two heartbeats, then silence: the monitor fails.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Start Heartbeat Monitor    {"type": "heartbeat"}    interval=50ms    tolerance=30ms
    Send Json    {"cmd": "heartbeat", "interval_ms": 50, "count": 2}
    Wait For Messages    2    {"type": "heartbeat"}
    Message Should Not Arrive    {"type": "heartbeat"}    within=200ms    ignore_buffered=True
    Run Keyword And Expect Error    *are unhealthy: no beat for * ms after beat 2.*
    ...    Heartbeat Monitor Should Be Healthy
    ${stats}=    Stop Heartbeat Monitor
    Should Be Equal As Integers    ${stats}[beats]    2

Round Trips Should Be Measured
    [Documentation]    Closed-loop and scheduled round trips, and the failures.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    ${rtt}=    Measure Round Trips    {"type": "ping"}    count=200    id_field=id
    ...    reply_template={"type": "ping"}
    Should Be Equal As Integers    ${rtt}[count]    200
    Should Be True    ${rtt}[min] <= ${rtt}[p50] <= ${rtt}[p95] <= ${rtt}[p99] <= ${rtt}[max]
    ${scheduled}=    Measure Round Trips    {"type": "ping"}    count=100    rate=200
    Should Be Equal As Integers    ${scheduled}[lost]    0
    # A command answered late and without the id: its replies are lost.
    Run Keyword And Expect Error    2 of 2 replies (matched by id) did not arrive*
    ...    Measure Round Trips    {"cmd": "later", "delay_ms": 5000}    count=2    timeout=100ms
    # The echo carries the id but is no pong: the first reply fails the measurement.
    Run Keyword And Expect Error    The reply to request id=* does not match {"type": "pong"}*
    ...    Measure Round Trips    {"type": "ping"}    count=200    reply_template={"type": "pong"}
    Run Keyword And Expect Error    No message matching {"type": "pong"} within 0.2 s*
    ...    Measure Round Trip    {"type": "ping"}    {"type": "pong"}    timeout=200ms

Ping Should Be Answered
    [Documentation]    A protocol ping returns its round trip.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    ${ms}=    Ping
    Should Be True    0 < ${ms} < 5000
