*** Settings ***
Documentation     Scenario 5: error handling.

Resource          ../resources/dashboards.resource

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections


*** Test Cases ***
5.1 Invalid JSON Is Answered With An Error And The Connection Survives
    [Documentation]    Each of the document's inputs gets the contract's error code and the
    ...    connection keeps working; the share handled correctly is the document's figure.
    Connect To Dashboard    pulse
    VAR    &{inputs}
    ...    invalid json=invalid_json
    ...    ${EMPTY}=invalid_json
    ...    {incomplete json=invalid_json
    ...    null=invalid_message
    ...    undefined=invalid_json
    ${handled}=    Count Inputs Handled Correctly    ${inputs}
    ${total}=    Get Length    ${inputs}
    Figure Should Meet Target    5.1    invalid inputs handled    ${handled * 100 / ${total}}    %
    ...    > ${ERROR_HANDLING_MIN_PERCENT}
    Should Be Equal    ${handled}    ${total}    Every invalid input must be answered correctly

5.1 Valid JSON That Is Not A Message Is Rejected
    [Documentation]    A JSON value that is not an object with a string ``type`` is an
    ...    ``invalid_message``; an unknown type is ``unknown_type`` and echoes the id.
    Connect To Dashboard    pulse
    Error Should Answer    42    invalid_message
    Error Should Answer    []    invalid_message
    Error Should Answer    {"no_type": 1}    invalid_message
    ${error}=    Error Should Answer    {"type": "teleport", "id": "t9"}    unknown_type
    Should Be Equal    ${error}[id]    t9

5.2 A 10 MB Message Closes The Connection With 1009
    [Documentation]    A frame over the message size limit closes the connection with code
    ...    1009 (message too big); other connections are unaffected.
    Connect To Dashboard    pulse
    Connect To Dashboard    pulse    alias=bystander
    Send Frame Of Size    ${HUGE_MESSAGE_BYTES}    alias=pulse
    Connection Should Be Closed    1009    timeout=10s    alias=pulse
    Measure Round Trip    {"type": "ping", "timestamp": 2}    {"type": "pong", "timestamp": 2}
    ...    alias=bystander

5.2 A Flood Of 1000 Messages Per Second Is Handled
    [Documentation]    1000 metric messages in one second: every one is answered, either
    ...    acknowledged or refused with ``rate_limited`` — none is dropped silently.
    [Setup]    Hold The Metric Values
    Connect To Dashboard    pulse
    ${sent}=    Send At Rate    {"type": "metrics", "data": {"trust": 0.8}, "id": 0}    rate=1000
    ...    duration=1s    sequence_field=id
    ${answers}=    Wait For Messages    ${sent}[sent]    path=$.type    operator=matches
    ...    expected=^(metrics_received|error)$    timeout=15s
    ${acked}=    Evaluate    sum(1 for a in $answers if a['type'] == 'metrics_received')
    Record Figure    5.2    flood messages acknowledged    ${acked}    messages
    Figure Should Meet Target    5.2    flood messages answered
    ...    ${{ len($answers) * 100 / $sent['sent'] }}    %    >= 100
    [Teardown]    Restore Baseline And Release The Metric Values

5.3 A Reply That Never Comes Times Out After 5 Seconds
    [Documentation]    Waiting for a reply that the server never sends gives up after the
    ...    5 s timeout (not earlier, not hanging), and the connection stays usable.
    Connect To Dashboard    pulse
    Send Json    {"type": "ping", "timestamp": 1}
    ${start}=    Start Stopwatch
    Run Keyword And Expect Error    No message matching*
    ...    Wait For Message    {"type": "pong", "timestamp": 999}    timeout=${REPLY_TIMEOUT}
    ${waited}=    Milliseconds Since    ${start}
    Should Be True    5000 <= ${waited} < 6500    the wait took ${waited} ms
    Record Figure    5.3    reply timeout honoured after    ${waited}    ms
    Measure Round Trip    {"type": "ping", "timestamp": 3}    {"type": "pong", "timestamp": 3}


*** Keywords ***
Count Inputs Handled Correctly
    [Documentation]    Sends each input and counts those answered with their expected code.
    [Arguments]    ${inputs}
    VAR    ${handled}    ${0}
    FOR    ${text}    ${code}    IN    &{inputs}
        ${ok}=    Run Keyword And Return Status    Error Should Answer    ${text}    ${code}
        IF    ${ok}    VAR    ${handled}    ${handled + 1}
        IF    not ${ok}
            Log    Input '${text}' was not answered with ${code}    WARN
        END
    END
    RETURN    ${handled}
