*** Settings ***
Documentation     Scenario 1: establishing WebSocket connections to the three dashboards.

Resource          ../resources/dashboards.resource
Library           DeploymentControl
Library           PrometheusLibrary

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections

Test Tags         section:1-connections


*** Test Cases ***
1.1 Connect To The Pulse Dashboard Under 500 ms
    [Documentation]    Connecting to the Pulse dashboard succeeds, it welcomes the
    ...    client, and the connection is established in under 500 ms.
    [Tags]    rule:lifecycle.welcome-on-open    rule:lifecycle.connect-under-500ms
    Dashboard Should Accept Connections Quickly    1.1    pulse

1.2 Connect To The Seams Dashboard Under 500 ms
    [Documentation]    Connecting to the Seams dashboard succeeds, it welcomes the
    ...    client, and the connection is established in under 500 ms.
    [Tags]    rule:lifecycle.welcome-on-open    rule:lifecycle.connect-under-500ms
    Dashboard Should Accept Connections Quickly    1.2    seams

1.3 Connect To The Voices Dashboard Under 500 ms
    [Documentation]    Connecting to the Voices dashboard succeeds, it welcomes the
    ...    client, and the connection is established in under 500 ms. (The lock keeps the
    ...    connection-limit test from filling Voices meanwhile.)
    [Tags]    rule:lifecycle.welcome-on-open    rule:lifecycle.connect-under-500ms
    [Setup]    Hold The Metric Values
    Dashboard Should Accept Connections Quickly    1.3    voices
    [Teardown]    Release The Metric Values

1.4 Every Dashboard Answers Health And Metrics Over HTTP
    [Documentation]    Each dashboard's port answers ``GET /healthz`` with 200 and
    ...    ``{"status": "ok", "dashboard": …, "database": "ok"}``, and ``GET /metrics`` with a
    ...    Prometheus exposition holding the series the contract lists.
    [Tags]    rule:endpoints.healthz-ok
    ...       rule:endpoints.metrics-exposition
    ...       rule:observability.traffic-series
    ...       rule:observability.slo-series
    [Setup]    Hold The Metric Values
    [Template]    Dashboard Should Answer Health And Metrics
    pulse
    seams
    voices
    [Teardown]    Release The Metric Values


*** Keywords ***
Dashboard Should Answer Health And Metrics
    [Documentation]    ``dashboard`` answers /healthz as healthy and /metrics with every series
    ...    of protocol.md section 9, after a connection, a ping and an error of its own.
    [Arguments]    ${dashboard}
    ${health}=    Get Dashboard Health    ${SYSTEM}[urls][${dashboard}]    &{SYSTEM}[producer]
    Should Be Equal As Integers    ${health}[status]    200    /healthz: ${health}
    VAR    &{healthy}    status=ok    dashboard=${dashboard}    database=ok
    Dictionary Should Contain Sub Dictionary    ${health}[body]    ${healthy}
    Connect To Dashboard    ${dashboard}
    Error Should Answer    {"type": "teleport"}    unknown_type    alias=${dashboard}
    ${url}=    Metrics Endpoint Of    ${SYSTEM}[urls][${dashboard}]
    ${scrape}=    Scrape Metrics    ${url}    &{SYSTEM}[producer]
    Traffic Series Should Count    ${scrape}    ${dashboard}
    SLO Series Should Be Exposed    ${scrape}

Traffic Series Should Count
    [Documentation]    The scrape counts this test's connection, ping, welcome and error on
    ...    ``dashboard``, and has the ack latency histogram.
    [Arguments]    ${scrape}    ${dashboard}
    Get Metric Value    ${scrape}    dashboard_connections_active{dashboard="${dashboard}"}
    ...    assertion_operator=>=    assertion_expected=1
    Get Metric Value
    ...    ${scrape}
    ...    dashboard_messages_received_total{dashboard="${dashboard}",type="ping"}
    ...    assertion_operator=>=
    ...    assertion_expected=1
    Get Metric Value
    ...    ${scrape}
    ...    dashboard_messages_sent_total{dashboard="${dashboard}",type="welcome"}
    ...    assertion_operator=>=
    ...    assertion_expected=1
    Get Metric Value
    ...    ${scrape}
    ...    dashboard_errors_total{dashboard="${dashboard}",code="unknown_type"}
    ...    assertion_operator=>=
    ...    assertion_expected=1
    Get Metric Value
    ...    ${scrape}
    ...    dashboard_ack_latency_seconds_count
    ...    assertion_operator=>=
    ...    assertion_expected=0

SLO Series Should Be Exposed
    [Documentation]    The scrape has the current value of each metric and declares the alert,
    ...    voice and notification series (which have samples once something happened).
    [Arguments]    ${scrape}
    FOR    ${metric}    IN    @{METRICS}
        Get Metric Value
        ...    ${scrape}
        ...    slo_metric_value{metric="${metric}"}
        ...    assertion_operator=>=
        ...    assertion_expected=0
    END
    FOR    ${family}    IN    slo_alerts_total    voice_active    alert_notifications_total
        Metric Should Be Exposed    ${scrape}    ${family}
    END
