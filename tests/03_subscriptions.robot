*** Settings ***
Documentation     Scenario 3: subscriptions to live metric updates.

Resource          ../resources/dashboards.resource

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections

Test Tags         section:3-subscriptions


*** Test Cases ***
3.1 Subscribe To The Four SLO Metrics
    [Documentation]    The subscription is confirmed with the document's reply; the setup time
    ...    is scored against the expected 220 ms.
    [Tags]    rule:subscribe.subscribed-reply
    Connect To Dashboard    pulse
    ${start}=    Start Stopwatch
    Send Json    {"type": "subscribe", "channels": ["clarity", "chaos", "trust", "pain"]}
    ${reply}=    Wait For Message    {"type": "subscribed"}
    ${elapsed}=    Milliseconds Until Last Arrival    ${start}    pulse
    Frame Should Follow The Contract    ${reply}
    Should Be Equal    ${reply}[status]    ok
    # The contract lists every channel now subscribed; it does not fix their order.
    Lists Should Be Equal    ${reply}[channels]    ${METRICS}    ignore_order=True
    Record Figure    3.1    subscription setup
    ...    ${elapsed}    <    ${SUBSCRIPTION_SETUP_LIMIT_MS}    unit=ms

3.2 At Least Five Updates Arrive Within 10 Seconds
    [Documentation]    For 10 s a subscriber counts the ``metrics_update`` messages carrying its
    ...    metrics: at least 5 must arrive, 500-1000 ms apart on average.
    [Tags]    rule:events.metrics-update-interval
    ...       rule:events.metrics-update-subscribed-metrics
    ...       rule:events.snapshot-seq-per-connection
    ...       rule:frames.server-json-object
    Connect To Dashboard    pulse
    Subscribe To    pulse    @{METRICS}
    ${updates}=    Collect Updates For    10
    ${count}=    Get Length    ${updates}
    Figure Should Meet Target    3.2    updates received in 10 s
    ...    ${count}    >=    ${UPDATES_MIN_COUNT}    unit=updates
    ${mean}=    Mean Interval    10 s    ${count}
    Figure Should Meet Target    3.2    mean update interval
    ...    ${mean}    <=    ${UPDATE_INTERVAL_MAX_MS}    unit=ms

3.2 Updates Carry The Values Just Sent
    [Documentation]    After a metric changes, the next updates carry its new value.
    [Tags]    rule:events.metrics-update-current-values    rule:ingest.metric-update-acked
    [Setup]    Hold The Metric Values
    Connect To Dashboard    pulse
    Subscribe To    pulse    pain
    Set Metric    pain    0.35
    Wait For Message    {"type": "metrics_update", "data": {"pain": 0.35}}    timeout=2s
    [Teardown]    Restore Baseline And Release The Metric Values

3.3 Unsubscribe From Clarity And Pain
    [Documentation]    Unsubscribing confirms the channels removed and those remaining;
    ...    later updates carry only the remaining metrics.
    [Tags]    rule:subscribe.unsubscribed-reply
    ...       rule:events.metrics-update-subscribed-metrics
    ...       rule:events.channel-delivery
    Connect To Dashboard    pulse
    Subscribe To    pulse    @{METRICS}
    Send Json    {"type": "unsubscribe", "channels": ["clarity", "pain"]}
    ${reply}=    Wait For Message    {"type": "unsubscribed", "status": "ok"}
    Frame Should Follow The Contract    ${reply}
    Channels Should Be    ${reply}[channels]    clarity    pain
    Channels Should Be    ${reply}[remaining]    chaos    trust
    # Frames are ordered: everything after the reply was sent after the unsubscribe.
    Clear Message Buffer
    ${update}=    Wait For Message    {"type": "metrics_update"}    timeout=2s
    Update Should Carry Only    ${update}    chaos    trust

3.3 An Unknown Channel Rejects The Whole Subscription
    [Documentation]    A subscribe naming a channel the dashboard lacks is refused whole.
    [Tags]    rule:subscribe.unknown-channel    rule:frames.id-echoed    rule:subscribe.dashboard-channels
    Connect To Dashboard    seams
    Send Json    {"type": "subscribe", "channels": ["seams", "clarity"], "id": "s1"}
    Wait For Message    {"type": "error", "code": "unknown_channel", "id": "s1"}    alias=seams
    ${reply}=    Subscribe To    seams    alerts
    Channels Should Be    ${reply}[channels]    alerts

3.3 Subscribing Twice And Unsubscribing What Is Not Subscribed Are Not Errors
    [Documentation]    A second subscribe to a channel changes nothing (each channel is listed
    ...    once); unsubscribing a channel that is not subscribed is confirmed like any other.
    [Tags]    rule:subscribe.idempotent    rule:subscribe.unsubscribe-not-subscribed
    Connect To Dashboard    pulse
    Subscribe To    pulse    pain
    ${reply}=    Subscribe To    pulse    pain    chaos
    Channels Should Be    ${reply}[channels]    pain    chaos
    Send Json    {"type": "unsubscribe", "channels": ["clarity"], "id": "u1"}
    ${reply}=    Wait For Message    {"type": "unsubscribed", "status": "ok", "id": "u1"}
    Channels Should Be    ${reply}[remaining]    pain    chaos

3.1 A Subscription Must Name At Least One Channel
    [Documentation]    ``channels`` is a non-empty array: an empty or missing one is a
    ...    ``validation_error`` echoing the message's id.
    [Tags]    rule:subscribe.channels-required
    Connect To Dashboard    pulse
    ${error}=    Error Should Answer    {"type": "subscribe", "channels": [], "id": "s0"}
    ...    validation_error
    Should Be Equal    ${error}[id]    s0
    Error Should Answer    {"type": "subscribe"}    validation_error


*** Keywords ***
Update Should Carry Only
    [Documentation]    The ``metrics_update`` ``update`` carries exactly the ``metrics`` given.
    [Arguments]    ${update}    @{metrics}
    ${carried}=    Get Dictionary Keys    ${update}[data]
    Channels Should Be    ${carried}    @{metrics}

Collect Updates For
    [Documentation]    Every ``metrics_update`` that arrives within ``seconds``, each checked
    ...    to carry a ``seq`` and exactly the subscribed metrics.
    [Arguments]    ${seconds}
    ${start}=    Start Stopwatch
    VAR    @{updates}    @{EMPTY}
    WHILE    True
        ${left}=    Evaluate    ${seconds} - (time.perf_counter() * 1000 - ${start}) / 1000
        ...    modules=time
        IF    ${left} <= 0    BREAK
        ${status}    ${update}=    Run Keyword And Ignore Error
        ...    Wait For Message    {"type": "metrics_update"}    timeout=${left}
        IF    $status == 'FAIL'    BREAK
        Append To List    ${updates}    ${update}
        Update Should Be The Next Snapshot    ${update}    ${updates}
    END
    RETURN    ${updates}

Update Should Be The Next Snapshot
    [Documentation]    ``update`` follows the contract, carries exactly the subscribed metrics,
    ...    and its ``seq`` counts this connection's updates from 1 (``updates`` so far).
    [Arguments]    ${update}    ${updates}
    Frame Should Follow The Contract    ${update}
    Lists Should Be Equal    ${{ sorted($update['data']) }}    ${{ sorted($METRICS) }}
    ${count}=    Get Length    ${updates}
    Should Be Equal As Integers    ${update}[seq]    ${count}
