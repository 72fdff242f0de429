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
    ${huge}=    Evaluate    "x" * ${HUGE_MESSAGE_BYTES}
    Send Text    ${huge}    alias=pulse
    Connection Should Close With Code    pulse    1009
    Measure Round Trip    {"type": "ping", "timestamp": 2}    {"type": "pong", "timestamp": 2}
    ...    alias=bystander

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

Connection Should Close With Code
    [Documentation]    Waits until the server closes the connection and checks its close code.
    [Arguments]    ${alias}    ${code}
    Run Keyword And Expect Error    *closed (code ${code})*
    ...    Wait For Message    {"type": "never-sent"}    timeout=10s    alias=${alias}
