*** Settings ***
Documentation     Scenario 1: establishing WebSocket connections to the three dashboards.

Resource          ../resources/dashboards.resource

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections


*** Test Cases ***
1.1 Connect To The Pulse Dashboard Under 500 ms
    [Documentation]    Connecting to the Pulse dashboard succeeds, it welcomes the
    ...    client, and the connection is established in under 500 ms.
    Dashboard Should Accept Connections Quickly    1.1    pulse

1.2 Connect To The Seams Dashboard Under 500 ms
    [Documentation]    Connecting to the Seams dashboard succeeds, it welcomes the
    ...    client, and the connection is established in under 500 ms.
    Dashboard Should Accept Connections Quickly    1.2    seams

1.3 Connect To The Voices Dashboard Under 500 ms
    [Documentation]    Connecting to the Voices dashboard succeeds, it welcomes the
    ...    client, and the connection is established in under 500 ms. (The lock keeps the
    ...    connection-limit test from filling Voices meanwhile.)
    [Setup]    Hold The Metric Values
    Dashboard Should Accept Connections Quickly    1.3    voices
    [Teardown]    Run Keywords    Close All Connections    AND    Release Lock    metric_values
