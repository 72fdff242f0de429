*** Settings ***
Documentation    Sending every kind of frame and receiving by template, JSONPath with an
...              assertion operator, regex, type and count; silence; JSON Schema.

Resource         ../resources/websocket.resource


*** Variables ***
${SCHEMA}    ${CURDIR}/schemas/update.json


*** Test Cases ***
Text Json And Binary Frames Are Echoed
    [Documentation]    Text, JSON and binary frames go out and are received by regex, template and type.
    [Template]    Frames Should Be Echoed
    python
    node

Broken Json And Invalid UTF-8 Can Be Sent
    [Documentation]    Raw bytes go out unchanged; invalid UTF-8 in a text frame makes the server close with 1007.
    [Template]    Raw Bytes Should Reach The Server
    python
    node

A 10 MB Frame Goes Out And Comes Back
    [Documentation]    A 10 MB text frame is sent and its echo received whole.
    [Template]    Large Frame Should Round Trip
    python
    node

Sending At A Fixed Rate Follows The Schedule
    [Documentation]    Send At Rate sends the planned number of numbered frames on schedule.
    [Template]    Rate Should Be Kept
    python
    node

JSONPath With Assertion Operators Selects Messages
    [Documentation]    JSONPath with assertion-engine operators selects messages; failures name the operator.
    [Template]    JSONPath Waits Should Match
    python
    node

N Messages Within A Time Are Returned In Order
    [Documentation]    Wait For Messages returns N in order, or fails saying how many came and consumes none.
    [Template]    Several Messages Should Arrive
    python
    node

A Message That Must Not Arrive
    [Documentation]    Message Should Not Arrive passes on silence and fails when the message arrives in time.
    [Template]    Silence Should Be Asserted
    python
    node

Frames Are Validated Against A JSON Schema
    [Documentation]    Messages are checked against a JSON Schema file; invalid ones are named with their errors.
    [Template]    Schema Should Be Checked
    python
    node

Messages Fuzzed From A Schema Are Sent And Their Replies Checked
    [Documentation]    An echo server passes when anything goes back; its echo of a near-miss
    ...    breaks a reply schema of updates, and the failure shows the smallest such message.
    [Template]    Echo Server Should Be Fuzzed
    python
    node

Failures Show What Did Arrive
    [Documentation]    A failed wait lists the buffered frames, why each did not match, and the last traffic.
    [Template]    Wait Failure Should List The Buffer
    python
    node


*** Keywords ***
Frames Should Be Echoed
    [Documentation]    Sends text, JSON and binary and receives each echo.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Send Text    plain text
    Send Json    {"type": "json", "n": 1}
    ${data}=    Convert To Bytes    00 01 ff    hex
    Send Binary    ${data}
    Wait For Message    regex=^plain text$
    Wait For Message    {"type": "json", "n": 1}
    ${binary}=    Wait For Message    type=binary
    Should Be Equal    ${binary}    ${data}

Raw Bytes Should Reach The Server
    [Documentation]    Sends truncated JSON, then invalid UTF-8.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    ${broken}=    Convert To Bytes    {"type": "ping"
    Send Bytes    ${broken}
    ${echo}=    Wait For Message    type=text
    Should Be Equal    ${echo}    {"type": "ping"
    ${invalid}=    Convert To Bytes    ff fe    hex
    Send Bytes    ${invalid}    frame_type=text
    Connection Should Be Closed    1007    timeout=5s

Large Frame Should Round Trip
    [Documentation]    Sends 10 MB and waits for the echo.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    ${size}=    Send Frame Of Size    10 MB
    Should Be Equal As Integers    ${size}    10000000
    ${echo}=    Wait For Message    regex=^xxxx    timeout=30s
    Length Should Be    ${echo}    10000000

Rate Should Be Kept
    [Documentation]    Sends 100 frames/s for 300 ms and receives all 30 echoes.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    ${report}=    Send At Rate    {"type": "load"}    rate=100    duration=300ms
    ...    sequence_field=seq
    Should Be Equal As Integers    ${report}[sent]    30
    Should Be True    ${report}[lag_p99_ms] < 100
    ${echoes}=    Wait For Messages    30    {"type": "load"}
    Should Be Equal As Integers    ${echoes}[29][seq]    29

JSONPath Waits Should Match
    [Documentation]    Waits by JSONPath and operators, and fails when none holds.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Send Json    {"cmd": "burst", "count": 5}
    ${third}=    Wait For Message Where    $.seq    >=    3
    Should Be Equal As Integers    ${third}[seq]    3
    Wait For Message    {"type": "update"}    path=$.seq    assertion_operator=equal    assertion_expected=1
    Send Json    {"items": [{"id": 1}, {"id": 42}], "status": "ok"}
    ${msg}=    Wait For Message Where    $.items[*].id    contains    42
    Get Json Value    ${msg}    $.status    ==    ok
    Run Keyword And Expect Error    *'ok' (str) should be 'down' (str)
    ...    Get Json Value    ${msg}    $.status    ==    down
    Run Keyword And Expect Error    No message matching $.seq > '10' within 0.2 s*
    ...    Wait For Message Where    $.seq    >    10    timeout=200ms

Several Messages Should Arrive
    [Documentation]    Waits for several ticks, then fails on too few tocks.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Send Json    {"cmd": "burst", "count": 5, "type": "tick"}
    ${ticks}=    Wait For Messages    5    {"type": "tick"}    timeout=5s
    Should Be Equal As Integers    ${ticks}[4][seq]    4
    Send Json    {"cmd": "burst", "count": 2, "type": "tock"}
    Run Keyword And Expect Error    Only 2 of 3 messages matching {"type": "tock"} arrived*
    ...    Wait For Messages    3    {"type": "tock"}    timeout=300ms
    ${left}=    Get Buffered Messages    {"type": "tock"}
    Length Should Be    ${left}    2
    ${cleared}=    Clear Message Buffer
    Should Be True    ${cleared} >= 2

Silence Should Be Asserted
    [Documentation]    Asserts silence, then a delayed message breaking it.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Message Should Not Arrive    {"type": "alert"}    within=200ms
    Send Json    {"cmd": "later", "delay_ms": 50, "message": {"type": "alert"}}
    Run Keyword And Expect Error    A message matching {"type": "alert"} arrived after*
    ...    Message Should Not Arrive    {"type": "alert"}    within=5s

Schema Should Be Checked
    [Documentation]    Validates one message and the buffered ones against the schema file.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Send Json    {"cmd": "burst", "count": 3}
    ${updates}=    Wait For Messages    3    {"type": "update"}
    Message Should Match Schema    ${updates}[0]    ${SCHEMA}
    Run Keyword And Expect Error    *$.seq: 'x' is not of type 'integer'*
    ...    Message Should Match Schema    {"type": "update", "seq": "x"}    ${SCHEMA}
    Send Json    {"type": "update", "seq": -1}
    Send Json    {"cmd": "burst", "count": 2}
    Wait For Message    {"type": "update", "seq": 1}
    Run Keyword And Expect Error    1 of 2 message(s) do not match the schema*minimum of 0*
    ...    Buffered Messages Should Match Schema    ${SCHEMA}    {"type": "update"}

Echo Server Should Be Fuzzed
    [Documentation]    Fuzzes the echo server: with any JSON object as a reply it passes; with
    ...    the update schema as the only reply schema its echo of a near-miss fails.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    VAR    @{anything}    {"type": "object"}
    ${run}=    Fuzz Messages From Schema    ${SCHEMA}    ${anything}    examples=20
    ...    kinds=["valid", "hostile"]    error_template={}    rate=500
    Should Be True    ${run}[sent][valid] > 0 and ${run}[sent][hostile] > 0
    VAR    @{updates}    ${SCHEMA}
    Run Keyword And Expect Error    A near-miss message (*) fails the contract*matches none*
    ...    Fuzz Messages From Schema    ${SCHEMA}    ${updates}    kinds=near-miss    rate=500

Wait Failure Should List The Buffer
    [Documentation]    Checks the content of a failed wait's message.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Send Json    {"type": "other"}
    Wait For Message    {"type": "other"}
    Send Json    {"type": "other", "n": 2}
    ${error}=    Run Keyword And Expect Error    *
    ...    Wait For Message    {"type": "pong"}    timeout=300ms
    Should Contain    ${error}    No message matching {"type": "pong"} within 0.3 s
    Should Contain    ${error}    {"type":"other","n":2}${SPACE * 2}<- $.type: expected 'pong', got 'other'
    Should Contain    ${error}    Last frames on this connection:
