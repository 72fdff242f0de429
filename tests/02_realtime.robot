*** Settings ***
Documentation     Scenario 2: real-time data transfer.

Resource          ../resources/dashboards.resource

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections


*** Test Cases ***
2.1 Ping Pong Round Trip Under 200 ms
    [Documentation]    A ping carrying a timestamp is answered by a pong echoing it within 200 ms.
    Connect To Dashboard    pulse
    Ping Should Be Answered Quickly    pulse
