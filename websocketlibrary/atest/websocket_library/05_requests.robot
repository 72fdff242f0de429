*** Settings ***
Documentation    Request/reply with correlation ids, arrival times and the traffic log.

Resource         ../resources/websocket.resource


*** Test Cases ***
A Request Gets The Reply That Carries Its Id
    [Documentation]    Send Request returns the reply with the request's id and its round trip.
    [Template]    Request Should Be Answered
    python
    node

A Reply That Does Not Match Fails At Once
    [Documentation]    Expected-error test: a reply by id that fails the check fails the request without waiting.
    [Template]    Wrong Reply Should Fail At Once
    python
    node

Arrival Times Of The Last Wait Are Available
    [Documentation]    Get Last Arrival Times gives one entry per frame the last wait returned.
    [Template]    Arrival Times Should Be Given
    python
    node


*** Keywords ***
Request Should Be Answered
    [Documentation]    The echo of a request is its reply: same id, same method; counter ids
    ...    count up from request to request.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    ${first}    ${ms}=    Send Request    {"method": "sum", "params": [1, 2]}
    ...    {"method": "sum"}    id_format=counter
    Should Be True    ${ms} > 0
    ${second}    ${_}=    Send Request    {"method": "sum"}    id_format=counter
    Should Be True    ${second}[id] == ${first}[id] + 1    counter ids count up
    ${reply}    ${_}=    Send Request    {"op": "get"}    id_field=request_id
    ...    request_id=r-7
    Should Be Equal    ${reply}[request_id]    r-7

Wrong Reply Should Fail At Once
    [Documentation]    The echo has no ``result``: the check fails on the first reply, long
    ...    before the 30 s timeout (the test's own timeout says so).
    [Arguments]    ${server}
    [Timeout]    10s
    Connect To Test Server    ${server}    alias=rpc
    Run Keyword And Expect Error
    ...    The reply to request id=9 on 'rpc' (ws://*) does not match $.result exists: $.result: missing*
    ...    Send Request    {"method": "sum"}    path=$.result    request_id=${9}    timeout=30s
    ...    alias=rpc

Arrival Times Should Be Given
    [Documentation]    Three frames of a burst: three arrival times, in order.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Send Json    {"cmd": "burst", "count": 3, "type": "tick"}
    Wait For Messages    3    {"type": "tick"}
    ${times}=    Get Last Arrival Times
    Length Should Be    ${times}    3
    Should Be Equal As Numbers    ${times}[0][since_previous_ms]    0
    Should Be True    ${times}[2][arrived] >= ${times}[1][arrived] >= ${times}[0][arrived]
