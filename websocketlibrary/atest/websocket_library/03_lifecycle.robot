*** Settings ***
Documentation    Closing with a code, server closes, network breaks, automatic reconnection
...              with re-subscription or resume, and connections closed at a test's end.

Resource         ../resources/websocket.resource


*** Test Cases ***
Closing With A Code
    [Documentation]    Close with a code; assert the close code and reason of our close and of the server's.
    [Template]    Close Codes Should Be Asserted
    python
    node

A Network Break Is Seen As 1006
    [Documentation]    An abort (no close frame) on either side is seen as close code 1006.
    [Template]    Breaks Should Close With 1006
    python
    node

Auto Reconnect Re-Subscribes And Reports Recovery
    [Documentation]    After a server drop the library reconnects, re-sends the subscriptions and reports recovery.
    [Template]    Reconnection Should Resubscribe
    python
    node

Auto Reconnect Resumes The Session Of The Welcome
    [Documentation]    After an abort the resume message carries the session id of the first welcome.
    [Template]    Reconnection Should Resume
    python
    node

A Connection Left Open By A Test
    [Documentation]    Opens connections and leaves them open: the library's listener closes
    ...    them when this test ends, which the next test checks.
    Connect To Test Server    python    alias=left-open-python
    Connect To Test Server    node    alias=left-open-node

Is Closed When That Test Ends
    [Documentation]    The connections left open by the previous test were closed with 1000 when
    ...    it ended, and none of them is current here.
    Connection Should Be Closed    1000    alias=left-open-python
    Connection Should Be Closed    1000    alias=left-open-node
    Run Keyword And Expect Error    *current one, 'left-open-node' (ws://*), was closed when the test*
    ...    Send Json    {"type": "ping"}


*** Keywords ***
Close Codes Should Be Asserted
    [Documentation]    Our close with 4000, then the server's close with 4001.
    [Arguments]    ${server}
    Connect To Test Server    ${server}    alias=ours
    Close Connection    code=4000    reason=done
    Connection Should Be Closed    4000    done
    Run Keyword And Expect Error    *closed with code 4000 ('done'), expected 1000.
    ...    Connection Should Be Closed    1000
    Run Keyword And Expect Error    Connection to * is closed (close code 4000).
    ...    Connection Should Be Open
    Connect To Test Server    ${server}    alias=theirs
    Run Keyword And Expect Error    Connection to * is still open after 0.1 s.
    ...    Connection Should Be Closed    timeout=100ms
    Send Json    {"cmd": "close", "code": 4001, "reason": "bye"}
    ${code}=    Connection Should Be Closed    4001    bye    timeout=5s
    Should Be Equal As Integers    ${code}    4001

Breaks Should Close With 1006
    [Documentation]    Abort on our side, then a drop on the server's side.
    [Arguments]    ${server}
    Connect To Test Server    ${server}    alias=aborted
    Abort Connection
    Connection Should Be Closed    1006
    Connect To Test Server    ${server}    alias=dropped
    Send Json    {"cmd": "drop"}
    Connection Should Be Closed    1006    timeout=5s

Reconnection Should Resubscribe
    [Documentation]    Drop, reconnect, and check the restored subscriptions.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Enable Auto Reconnect    initial_delay=20ms    max_delay=200ms    jitter=0.2
    ...    resubscribe={"type": "subscribe", "topic": "prices"}
    Register Subscription    {"type": "subscribe", "topic": "alerts"}
    Wait For Message    {"topic": "alerts"}
    Send Json    {"cmd": "drop"}
    ${recovery_ms}=    Wait For Reconnection    timeout=10s
    Should Be True    0 < ${recovery_ms} < 10000
    Subscriptions Should Have Been Restored    ${server}
    Run Keyword And Expect Error    *did not reconnect within 0.2 s (state open)*
    ...    Wait For Reconnection    timeout=200ms

Reconnection Should Resume
    [Documentation]    Abort, reconnect, and check the resume message.
    [Arguments]    ${server}
    ${welcome}=    Connect To Test Server    ${server}
    Enable Auto Reconnect    initial_delay=20ms    resubscribe={"type": "subscribe"}
    ...    resume={"type": "resume", "session_id": "{{$.session_id}}"}
    Abort Connection
    ${recovery_ms}=    Wait For Reconnection    timeout=10s
    ${resume}=    Wait For Message    {"type": "resume"}
    Should Be Equal    ${resume}[session_id]    ${welcome}[session_id]
    Message Should Not Arrive    {"type": "subscribe"}    within=200ms
    Log    Recovered in ${recovery_ms} ms

Subscriptions Should Have Been Restored
    [Documentation]    The new connection got a welcome and both subscriptions again, in order.
    [Arguments]    ${server}
    Connection Should Be Open
    Wait For Message    {"type": "welcome", "server": "${server}"}
    ${topics}=    Wait For Messages    2    {"type": "subscribe"}
    Should Be Equal    ${topics}[0][topic]    prices
    Should Be Equal    ${topics}[1][topic]    alerts
    ${history}=    Get Reconnections
    Should Be Equal As Integers    ${history}[0][close_code]    1006
