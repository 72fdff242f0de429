*** Settings ***
Documentation    Connecting: latency, aliases, handshake options, tokens, refused handshakes
...              and the maximum message size.

Library          Collections
Resource         ../resources/websocket.resource


*** Test Cases ***
Connect Returns The Handshake Latency
    [Documentation]    Connect returns a positive latency, also available later by alias.
    [Template]    Connect Latency Should Be Recorded
    python
    node

Aliases Address Several Connections
    [Documentation]    Frames stay on the connection they belong to; Switch Connection changes the current one.
    [Template]    Aliases Should Keep Connections Apart
    python
    node

Headers Origin Subprotocol And Token Reach The Server
    [Documentation]    Extra headers, Origin, the chosen subprotocol and a Secret bearer token arrive at the server.
    [Template]    Handshake Options Should Reach The Server
    python
    node

Refused Handshake Shows Status And Retry-After
    [Documentation]    A refused handshake is asserted with its status and headers (503 with Retry-After, 401).
    [Template]    Refusal Should Be Asserted
    python
    node

Connect Fails When The Handshake Is Refused
    [Documentation]    Connect fails with the HTTP status of a refusal.
    [Template]    Refused Connect Should Fail
    python
    node

Connect Should Be Refused Fails When Accepted
    [Documentation]    Expected-error test: an accepted handshake or another status fails the refusal check.
    [Template]    Accepted Handshake Should Fail The Refusal Check
    python
    node

A Frame Over The Size Limit Closes With 1009
    [Documentation]    A frame larger than max_message_size closes the connection with 1009.
    [Template]    Oversized Frame Should Close The Connection
    python
    node


*** Keywords ***
Connect Latency Should Be Recorded
    [Documentation]    Connects by alias and checks the recorded latency.
    [Arguments]    ${server}
    ${url}=    Test Server Url    ${server}
    ${latency}=    Connect    ${url}    alias=${server}
    Should Be True    0 < ${latency} < 5000
    ${again}=    Get Connect Latency    ${server}
    Should Be Equal    ${latency}    ${again}
    Connection Should Be Open    ${server}

Aliases Should Keep Connections Apart
    [Documentation]    Two aliased connections receive only their own echoes.
    [Arguments]    ${server}
    Connect To Test Server    ${server}    alias=first
    Connect To Test Server    ${server}    alias=second
    Send Json    {"via": "second"}
    Switch Connection    first
    Send Json    {"via": "first"}
    Wait For Message    {"via": "first"}
    Wait For Message    {"via": "second"}    alias=second
    Message Should Not Arrive    {"via": "second"}    within=100ms    alias=first

Handshake Options Should Reach The Server
    [Documentation]    The server reports the headers and subprotocol it saw.
    [Arguments]    ${server}
    ${token}=    Get Test Token
    VAR    &{headers}    X-Trace=t-1
    VAR    @{subprotocols}    chat.v2    other
    Connect To Test Server    ${server}    /auth    headers=${headers}    origin=http://qa.local
    ...    subprotocols=${subprotocols}    token=${token}
    Send Json    {"cmd": "headers"}
    ${seen}=    Wait For Message    {"type": "headers", "subprotocol": "chat.v2"}
    Should Be Equal    ${seen}[headers][x-trace]    t-1
    Should Be Equal    ${seen}[headers][origin]    http://qa.local
    Should Be Equal    ${seen}[headers][authorization]    Bearer secret-token

Refusal Should Be Asserted
    [Documentation]    Asserts the 503 and 401 refusals of the server.
    [Arguments]    ${server}
    ${url}=    Test Server Url    ${server}
    VAR    &{retry_after}    Retry-After=*
    ${response}=    Connect Should Be Refused    ${url}/refuse/503    status=503
    ...    response_headers=${retry_after}
    Should Be Equal As Integers    ${response}[status]    503
    Should Be Equal    ${response}[headers][retry-after]    5
    ${response}=    Connect Should Be Refused    ${url}/auth    status=401    token=wrong
    Dictionary Should Contain Key    ${response}[headers]    www-authenticate

Refused Connect Should Fail
    [Documentation]    Connect to the token-protected path without a token fails.
    [Arguments]    ${server}
    ${url}=    Test Server Url    ${server}
    Run Keyword And Expect Error
    ...    'secured' (ws://*/auth) refused the WebSocket handshake: expected HTTP 101 Switching Protocols, got HTTP 401*
    ...    Connect
    ...    ${url}/auth
    ...    alias=secured

Accepted Handshake Should Fail The Refusal Check
    [Documentation]    The refusal check fails on acceptance and on another status.
    [Arguments]    ${server}
    ${url}=    Test Server Url    ${server}
    Run Keyword And Expect Error    *accepted the WebSocket handshake*expected a refusal with HTTP 503.
    ...    Connect Should Be Refused    ${url}    status=503
    Run Keyword And Expect Error    *refused the handshake with HTTP 503, expected 429.
    ...    Connect Should Be Refused    ${url}/refuse/503    status=429

Oversized Frame Should Close The Connection
    [Documentation]    The echo of a 2 kB frame exceeds a 1 kB limit.
    [Arguments]    ${server}
    Connect To Test Server    ${server}    max_message_size=1 kB
    Send Frame Of Size    2 kB
    Connection Should Be Closed    1009    timeout=5s
