*** Settings ***
Documentation    Frames checked against an AsyncAPI 3 document of the test servers' protocol
...              (echo.asyncapi.yaml): one message by channel, operation or name, and all the
...              traffic of a connection, both ways; failures name the message, the schema
...              location and the value.

Resource         ../resources/websocket.resource

Suite Setup      Load AsyncAPI    ${ECHO_API}


*** Variables ***
${ECHO_API}    ${CURDIR}/echo.asyncapi.yaml
${CONTRACT}    AsyncAPI 'Echo test server'


*** Test Cases ***
Messages Are Matched Against A Channel Or An Operation
    [Documentation]    The welcome, a heartbeat and a command each match a message of their side.
    [Template]    Messages Should Match The Echo Contract
    python
    node

Invalid Messages Name The Message The Schema Location And The Value
    [Documentation]    A failure lists the candidates, the closest message and each error with
    ...    its schema file and JSON pointer (through $refs) and the offending value.
    [Template]    Invalid Messages Should Be Explained
    python
    node

All Traffic Of A Connection Is Validated
    [Documentation]    Sent and received frames are checked from the moment validation starts.
    [Template]    Traffic Should Be Validated
    python
    node

Frames Breaking The Contract Fail The Check And Stop
    [Documentation]    Violations are kept, reported once by the check, and by the stop.
    [Template]    Traffic Violations Should Be Reported
    python
    node


*** Keywords ***
Messages Should Match The Echo Contract
    [Documentation]    Matches the welcome by channel and action, a heartbeat by operation and
    ...    name, a command by operation, and lists an operation's messages.
    [Arguments]    ${server}
    ${welcome}=    Connect To Test Server    ${server}
    ${name}=    Message Should Match AsyncAPI    ${welcome}    channel=echo    action=send
    Should Be Equal    ${name}    welcome
    Send Json    {"cmd": "heartbeat", "interval_ms": 10, "count": 1}
    ${beat}=    Wait For Message    {"type": "heartbeat"}
    Message Should Match AsyncAPI    ${beat}    operation=sendToClient    name=heartbeat
    ${name}=    Message Should Match AsyncAPI    {"cmd": "burst"}    operation=takeFromClient
    Should Be Equal    ${name}    command
    Operation Should Take    takeFromClient    update    note    command

Operation Should Take
    [Documentation]    The ``operation``'s messages are the ``names``, in order.
    [Arguments]    ${operation}    @{names}
    ${found}=    Get AsyncAPI Messages    operation=${operation}
    Should Be Equal    ${found}    ${names}

Invalid Messages Should Be Explained
    [Documentation]    An echoed update with a string seq (a payload in another file), a
    ...    heartbeat below its minimum (a $ref inside the document), an unknown channel.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Send Json    {"type": "update", "seq": "x"}
    ${update}=    Wait For Message    {"type": "update"}
    VAR    ${expected}
    ...    EQUALS:{"type": "update", "seq": "x"} matches no message of channel 'echo'
    ...    ${SPACE}(operations that send) of ${CONTRACT} (tried welcome, update, note, heartbeat).
    ...    \nClosest: message 'update' (1 error(s)):\n${SPACE * 2}$.seq: 'x' is not of type
    ...    ${SPACE}'integer' (schema schemas/update.json#/properties/seq/type, value "x")
    ...    separator=${EMPTY}
    Run Keyword And Expect Error    ${expected}
    ...    Message Should Match AsyncAPI    ${update}    channel=echo    action=send
    VAR    ${expected}
    ...    EQUALS:{"type": "heartbeat", "seq": -1} matches no message of channel 'echo' of
    ...    ${SPACE}${CONTRACT} (tried heartbeat).\nClosest: message 'heartbeat' (1 error(s)):
    ...    \n${SPACE * 2}$.seq: -1 is less than the minimum of 0
    ...    ${SPACE}(schema echo.asyncapi.yaml#/components/schemas/seq/minimum, value -1)
    ...    separator=${EMPTY}
    Run Keyword And Expect Error    ${expected}
    ...    Message Should Match AsyncAPI    {"type": "heartbeat", "seq": -1}    channel=echo
    ...    name=heartbeat
    Run Keyword And Expect Error    ValueError: ${CONTRACT} has no channel 'lobby'. Channels: echo.
    ...    Message Should Match AsyncAPI    {}    channel=lobby

Traffic Should Be Validated
    [Documentation]    An update and its echo, a command and three heartbeats: six frames checked.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Validate Traffic With AsyncAPI    channel=echo
    Send Json    {"type": "update", "seq": 1}
    Wait For Message    {"type": "update", "seq": 1}
    Send Json    {"cmd": "heartbeat", "interval_ms": 10, "count": 3}
    Wait For Messages    3    {"type": "heartbeat"}
    ${checked}=    Traffic Should Have Matched AsyncAPI
    Should Be Equal As Integers    ${checked}    6
    ${checked}=    Stop Validating Traffic
    Should Be Equal As Integers    ${checked}    6

Traffic Violations Should Be Reported
    [Documentation]    Ticks are no message of the contract; a note too long breaks it going
    ...    out and coming back; after the stop nothing is checked.
    [Arguments]    ${server}
    Connect To Test Server    ${server}
    Validate Traffic With AsyncAPI    channel=echo
    Send Json    {"cmd": "burst", "count": 2, "type": "tick"}
    Wait For Messages    2    {"type": "tick"}
    VAR    ${expected}
    ...    2 frame(s) on * broke the AsyncAPI document (3 checked):\nreceived frame
    ...    ${SPACE}{"type": "tick", "seq": 0} matches no message of channel 'echo' (operations
    ...    ${SPACE}that send)*Closest: message 'update' (1 error(s)):\n${SPACE * 2}$.type:
    ...    ${SPACE}'update' was expected*\nreceived frame {"type": "tick", "seq": 1}*
    ...    separator=${EMPTY}
    Run Keyword And Expect Error    ${expected}    Traffic Should Have Matched AsyncAPI
    Note Too Long Should Break The Contract Both Ways
    Nothing Should Be Checked After The Stop

Note Too Long Should Break The Contract Both Ways
    [Documentation]    Sends a note over its maxLength: the sent frame and its echo are reported
    ...    by `Stop Validating Traffic`, with the schema location inside the document.
    Send Json    {"type": "note", "text": "far too long for a note"}
    Wait For Message    {"type": "note"}
    VAR    ${expected}
    ...    2 frame(s) on * (5 checked):\nsent frame {"type": "note", *}*is too long (schema
    ...    ${SPACE}echo.asyncapi.yaml#/components/messages/note/payload/schema/properties/text
    ...    /maxLength*\nreceived frame {"type": "note", *is too long*
    ...    separator=${EMPTY}
    Run Keyword And Expect Error    ${expected}    Stop Validating Traffic

Nothing Should Be Checked After The Stop
    [Documentation]    A frame no message matches goes out and back unchecked; stopping again
    ...    checks nothing.
    Send Json    {"type": "unknown"}
    Wait For Message    {"type": "unknown"}
    ${checked}=    Stop Validating Traffic
    Should Be Equal As Integers    ${checked}    0
