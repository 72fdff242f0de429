*** Settings ***
Documentation     Scenario 5: error handling.

Resource          ../resources/dashboards.resource
Resource          ../resources/database.resource
Library           String
Variables         ../variables/hostile_input.py

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     Close All Connections

Test Tags         section:5-errors


*** Variables ***
# Contract fuzzing (5.5): random messages per client message type, after a sweep that tries
# every rule of its schema once; the seed makes a run reproducible (--variable FUZZ_SEED:7).
${FUZZ_EXAMPLES}          40
${FUZZ_SEED}              0
${FUZZ_RATE}              40
# A row no valid message can make (section 4: names, values in [0, 1], the source format).
${INVALID_METRIC_ROWS}
...                       SELECT 1 FROM metrics WHERE metric_name NOT IN ('clarity', 'chaos', 'trust', 'pain')
...                       OR NOT (value >= 0 AND value <= 1) OR source !~ '^[A-Za-z0-9_.:-]{1,64}$'


*** Test Cases ***
5.1 Invalid JSON Is Answered With An Error And The Connection Survives
    [Documentation]    Each of the document's inputs gets the contract's error code and the
    ...    connection keeps working; the share handled correctly is the document's figure.
    [Tags]    rule:errors.invalid-json    rule:errors.connection-stays-open    rule:errors.frame-fields
    Connect To Dashboard    pulse
    VAR    &{inputs}
    ...    invalid json=invalid_json
    ...    ${EMPTY}=invalid_json
    ...    {incomplete json=invalid_json
    ...    null=invalid_message
    ...    undefined=invalid_json
    ${handled}=    Count Inputs Handled Correctly    ${inputs}
    ${total}=    Get Length    ${inputs}
    ${percent}=    Percent Of    ${handled}    ${total}
    Figure Should Meet Target    5.1    invalid inputs handled
    ...    ${percent}    >    ${ERROR_HANDLING_MIN_PERCENT}    unit=%
    Should Be Equal    ${handled}    ${total}    Every invalid input must be answered correctly

5.1 Valid JSON That Is Not A Message Is Rejected
    [Documentation]    A JSON value that is not an object with a string ``type`` is an
    ...    ``invalid_message``; an unknown type is ``unknown_type`` and echoes the id.
    [Tags]    rule:errors.invalid-message
    ...       rule:errors.unknown-type
    ...       rule:frames.id-echoed
    ...       rule:errors.connection-stays-open
    ...       rule:errors.codes
    Connect To Dashboard    pulse
    Error Should Answer    42    invalid_message
    Error Should Answer    []    invalid_message
    Error Should Answer    {"no_type": 1}    invalid_message
    ${error}=    Error Should Answer    {"type": "teleport", "id": "t9"}    unknown_type
    Should Be Equal    ${error}[id]    t9

5.1 A Binary Frame Is An Invalid Message
    [Documentation]    A binary frame, even one carrying JSON, is answered with
    ...    ``invalid_message``; the connection keeps working.
    [Tags]    rule:frames.binary-invalid-message    rule:errors.connection-stays-open
    Connect To Dashboard    pulse
    ${json}=    Convert To Bytes    {"type": "ping", "timestamp": 1}
    Send Bytes    ${json}    frame_type=binary
    ${error}=    Wait For Message    {"type": "error", "code": "invalid_message"}
    Frame Should Follow The Contract    ${error}
    Measure Round Trip    {"type": "ping", "timestamp": 8}    {"type": "pong", "timestamp": 8}

5.1 Unknown Fields Of A Message Are Ignored
    [Documentation]    A message with fields the contract does not know is handled as if
    ...    they were not there.
    [Tags]    rule:frames.unknown-fields-ignored
    Connect To Dashboard    pulse
    Measure Round Trip
    ...    {"type": "ping", "timestamp": 11, "client": "qa", "extra": {"nested": [1, 2]}}
    ...    {"type": "pong", "timestamp": 11}

5.1 NaN And Infinity Are Not JSON
    [Documentation]    RFC 8259 has no ``NaN``, ``Infinity`` or ``-Infinity``: a message
    ...    holding one is ``invalid_json``, nothing of it is stored, and the connection keeps
    ...    working.
    [Tags]    rule:frames.nan-infinity-invalid-json    rule:errors.connection-stays-open
    [Setup]    Hold The Metric Values And Connect
    [Template]    Text Should Be Rejected Whole
    {"type": "ping", "timestamp": NaN}    invalid_json
    {"type": "ping", "timestamp": Infinity}    invalid_json
    {"type": "metric_update", "metric": "pain", "value": NaN, "source": "{source}"}    invalid_json
    {"type": "metrics", "data": {"pain": -Infinity}, "source": "{source}"}    invalid_json
    [Teardown]    Restore Baseline And Release The Metric Values

5.4 A Number Out Of Range For Its Field Is A Validation Error
    [Documentation]    Valid JSON numbers no field can hold (``1e309``, a 5,000-digit integer)
    ...    are refused with ``validation_error`` echoing the id, never an ``internal_error``;
    ...    nothing of the message is stored and the connection keeps working.
    [Tags]    rule:frames.out-of-range-number    rule:frames.id-echoed    rule:errors.connection-stays-open
    [Setup]    Hold The Metric Values And Connect
    [Template]    Text Should Be Rejected Whole
    # robocop: off=LEN08
    {"type": "ping", "timestamp": ${OUT_OF_RANGE_FLOAT}, "id": "{id}"}    validation_error
    {"type": "ping", "timestamp": ${HUGE_INTEGER}, "id": "{id}"}    validation_error
    {"type": "metric_update", "metric": "pain", "value": ${OUT_OF_RANGE_FLOAT}, "source": "{source}", "id": "{id}"}    validation_error
    {"type": "metric_update", "metric": "pain", "value": ${HUGE_INTEGER}, "source": "{source}", "id": "{id}"}    validation_error
    {"type": "metrics", "data": {"pain": 0.3}, "timestamp": ${HUGE_INTEGER}, "source": "{source}", "id": "{id}"}    validation_error
    {"type": "metrics_batch", "records": [{"metric": "pain", "value": 0.3, "timestamp": ${OUT_OF_RANGE_FLOAT}}], "source": "{source}", "id": "{id}"}    validation_error
    {"type": "ping", "timestamp": 1, "id": ${HUGE_INTEGER}}    validation_error
    # robocop: on=LEN08
    [Teardown]    Restore Baseline And Release The Metric Values

5.1 Any JSON String Is Accepted And Echoed As Valid JSON
    [Documentation]    An ``id`` holding a lone surrogate escape (legal JSON) is carried by
    ...    the reply unchanged, in a frame that is RFC 8259 JSON in valid UTF-8 (a client
    ...    closes with 1007 on invalid UTF-8, and a frame that is not JSON does not match).
    [Tags]    rule:frames.any-json-string-accepted    rule:frames.server-valid-utf8    rule:frames.id-echoed
    [Setup]    Connect To Dashboard    pulse
    [Template]    Reply Should Echo The Id
    {"type": "ping", "timestamp": 21, "id": "${LONE_SURROGATE_ESCAPE}"}    pong
    {"type": "ping", "timestamp": 22, "id": "a${LONE_LOW_SURROGATE_ESCAPE}b"}    pong
    {"type": "subscribe", "channels": ["pain"], "id": "${LONE_SURROGATE_ESCAPE}"}    subscribed
    {"type": "teleport", "id": "${LONE_SURROGATE_ESCAPE}"}    error

5.4 A Lone Surrogate Where A Name Is Expected Gets The Contract's Error
    [Documentation]    A lone surrogate escape as the type, a metric name, a source or a
    ...    channel is refused with the error of any other wrong name, echoing the id, and
    ...    the connection keeps working.
    [Tags]    rule:frames.any-json-string-accepted    rule:frames.server-valid-utf8    rule:validation.rejected-whole
    [Setup]    Hold The Metric Values And Connect
    [Template]    Text Should Be Rejected Whole
    # robocop: off=LEN08
    {"type": "${LONE_SURROGATE_ESCAPE}", "id": "{id}"}    unknown_type
    {"type": "metrics", "data": {"${LONE_SURROGATE_ESCAPE}": 0.3}, "source": "{source}", "id": "{id}"}    validation_error
    {"type": "metric_update", "metric": "${LONE_SURROGATE_ESCAPE}", "value": 0.3, "source": "{source}", "id": "{id}"}    validation_error
    {"type": "metrics", "data": {"pain": 0.3}, "source": "x${LONE_SURROGATE_ESCAPE}", "id": "{id}"}    validation_error
    {"type": "subscribe", "channels": ["${LONE_SURROGATE_ESCAPE}"], "id": "{id}"}    unknown_channel
    # robocop: on=LEN08
    [Teardown]    Restore Baseline And Release The Metric Values

5.1 A Metric Whose Id Is A Lone Surrogate Is Acknowledged And Applied
    [Documentation]    A valid metric with a lone surrogate escape as its ``id`` is
    ...    acknowledged with that id and reaches the live state: subscribers see its value.
    [Tags]    rule:frames.any-json-string-accepted    rule:frames.id-echoed    rule:ingest.metrics-acked
    [Setup]    Hold The Metric Values And Connect
    Subscribe To    pulse    pain
    Reply Should Echo The Id
    ...    {"type": "metric_update", "metric": "pain", "value": 0.41, "id": "${LONE_SURROGATE_ESCAPE}"}
    ...    metrics_received
    Wait For Message    {"type": "metrics_update", "data": {"pain": 0.41}}
    [Teardown]    Restore Baseline And Release The Metric Values

5.4 A Message With An Invalid Value Is Rejected Whole
    [Documentation]    Each message below has one invalid value among valid ones: it is
    ...    refused with ``validation_error`` echoing its id, and none of its records is
    ...    stored.
    [Tags]    rule:validation.rejected-whole    rule:validation.value-range    rule:validation.metric-names
    [Setup]    Hold The Metric Values And Connect
    [Template]    Message Should Be Rejected Whole
    {"type": "metrics", "data": {"pain": 0.3, "clarity": "0.8"}}
    {"type": "metrics", "data": {"pain": 0.3, "chaos": true}}
    {"type": "metrics", "data": {"pain": 0.3, "trust": 1.5}}
    {"type": "metrics", "data": {"pain": 0.3, "trust": -0.01}}
    {"type": "metrics", "data": {"pain": 0.3, "joy": 0.5}}
    {"type": "metric_update", "metric": "pain", "value": null}
    [Teardown]    Restore Baseline And Release The Metric Values

5.4 A Message Of The Wrong Shape Is Rejected Whole
    [Documentation]    ``data`` must be a non-empty object, ``records`` hold 1 to 1000 whole
    ...    records, ``timestamp`` be an integer: each message below is refused with
    ...    ``validation_error`` echoing its id, and none of its records is stored.
    [Tags]    rule:validation.rejected-whole    rule:validation.data-non-empty-object    rule:validation.records-count
    [Setup]    Hold The Metric Values And Connect
    [Template]    Message Should Be Rejected Whole
    {"type": "metrics", "data": {}}
    {"type": "metrics", "data": [0.3]}
    {"type": "metrics_batch", "records": []}
    {"type": "metrics_batch", "records": [{"metric": "pain", "value": 0.3}, {"metric": "pain"}]}
    {"type": "metrics", "data": {"pain": 0.3}, "timestamp": "yesterday"}
    [Teardown]    Restore Baseline And Release The Metric Values

5.4 A Batch Holds 1 To 1000 Records
    [Documentation]    A ``metrics_batch`` of 1001 records is refused whole with
    ...    ``validation_error``; one of a single record and one of 1000 are accepted.
    [Tags]    rule:validation.records-count
    [Setup]    Hold The Metric Values And Connect
    ${too_many}=    Batch Of Baseline Records    1001
    Message Should Be Rejected Whole    ${too_many}
    ${one}=    Batch Of Baseline Records    1
    Message Should Be Accepted    ${one}    1
    ${full}=    Batch Of Baseline Records    1000
    Message Should Be Accepted    ${full}    1000
    [Teardown]    Restore Baseline And Release The Metric Values

5.4 Timestamps Are Accepted Within 24 Hours Of Server Time
    [Documentation]    Records stamped 25 hours before or after now are refused whole with
    ...    ``validation_error``; a record stamped just inside the window (24 hours less 30 s
    ...    ago: room for clocks that differ a little) is accepted. (Not one stamped in the
    ...    future: it would stay the latest stored value of its metric for a day, which a
    ...    restart must serve.)
    [Tags]    rule:validation.timestamp-window
    [Setup]    Hold The Metric Values And Connect
    ${past}=    Milliseconds Since The Epoch    hours_from_now=-25
    Message Should Be Rejected Whole
    ...    {"type": "metric_update", "metric": "pain", "value": 0.3, "timestamp": ${past}}
    ${future}=    Milliseconds Since The Epoch    hours_from_now=25
    Message Should Be Rejected Whole
    ...    {"type": "metrics", "data": {"pain": 0.3}, "timestamp": ${future}}
    ${past}=    Milliseconds Since The Epoch    hours_from_now=-23.99
    Message Should Be Accepted
    ...    {"type": "metric_update", "metric": "pain", "value": 0.3, "timestamp": ${past}}    1
    [Teardown]    Restore Baseline And Release The Metric Values

5.2 A 10 MB Message Closes The Connection With 1009
    [Documentation]    A frame over the message size limit closes the connection with code
    ...    1009 (message too big); other connections are unaffected.
    [Tags]    rule:limits.message-size-1009
    Connect To Dashboard    pulse
    Connect To Dashboard    pulse    alias=bystander
    Send Frame Of Size    ${HUGE_MESSAGE_BYTES}    alias=pulse
    Connection Should Be Closed    1009    timeout=10s    alias=pulse
    Measure Round Trip    {"type": "ping", "timestamp": 2}    {"type": "pong", "timestamp": 2}
    ...    alias=bystander

5.2 A Flood Of 1000 Messages Per Second Is Handled
    [Documentation]    1000 metric messages in one second: every one is answered, either
    ...    acknowledged or refused with ``rate_limited`` — none is dropped silently.
    [Tags]    rule:ingest.metrics-acked
    [Setup]    Hold The Metric Values
    Connect To Dashboard    pulse
    ${sent}=    Send At Rate    {"type": "metrics", "data": {"trust": 0.8}, "id": 0}    rate=1000
    ...    duration=1s    sequence_field=id
    ${answers}=    Wait For Messages    ${sent}[sent]    path=$.type    assertion_operator=matches
    ...    assertion_expected=^(metrics_received|error)$    timeout=15s
    # Wait For Messages has already failed unless every message was answered.
    ${acked}=    Count Messages Of Type    ${answers}    metrics_received
    Record Figure    5.2    flood messages acknowledged    ${acked}    unit=messages
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
    Record Figure    5.3    reply timeout honoured after    ${waited}    unit=ms
    Measure Round Trip    {"type": "ping", "timestamp": 3}    {"type": "pong", "timestamp": 3}

5.5 Messages Fuzzed From The Contract's Schemas Get Replies By The Contract
    [Documentation]    Per client message type, each rule of its schema broken once, then
    ...    seeded random messages: each reply carries the id and follows the schemas (an
    ...    ``error`` when the message breaks its schema); the connection keeps answering pings.
    ...    A failure is shrunk to the smallest failing message, printed ready to paste.
    [Tags]    rule:frames.id-echoed
    ...       rule:errors.connection-stays-open
    ...       rule:validation.rejected-whole
    ...       rule:errors.frame-fields
    ...       rule:frames.server-valid-utf8
    [Setup]    Hold The Metric Values
    [Template]    Fuzzed Messages Should Get Replies By The Contract
    ping    pong
    metrics    metrics_received
    metric_update    metrics_received
    metrics_batch    metrics_received
    subscribe    subscribed
    unsubscribe    unsubscribed
    resume    resumed
    ack_alert    alert_acknowledged
    [Teardown]    Restore Baseline And Release The Metric Values

5.5 Nothing Invalid Is Stored After Fuzzing
    [Documentation]    After the fuzzing above (and every other test), no row of ``metrics``
    ...    has a metric name, value or source the contract refuses.
    [Tags]    rule:validation.rejected-whole
    ...       rule:validation.value-range
    ...       rule:validation.metric-names
    ...       rule:validation.source-format
    Skip If    not $SYSTEM['database_url']    The target's database is not given (DATABASE_URL).
    Connect To The Metrics Database    alias=fuzzed
    Check Row Count    ${INVALID_METRIC_ROWS}    ==    0    alias=fuzzed
    [Teardown]    Disconnect From Database    alias=fuzzed


*** Keywords ***
Fuzzed Messages Should Get Replies By The Contract
    [Documentation]    Fuzzes ``message_type`` on a new Pulse connection (see `Fuzz Messages
    ...    From Schema`); each reply must be valid against ``reply_type``'s schema or the
    ...    error's.
    [Arguments]    ${message_type}    ${reply_type}
    Connect To Dashboard    pulse    alias=fuzz-${message_type}
    VAR    @{replies}    ${SCHEMAS}/${reply_type}.schema.json    ${SCHEMAS}/error.schema.json
    Fuzz Messages From Schema    ${SCHEMAS}/${message_type}.schema.json    ${replies}
    ...    examples=${FUZZ_EXAMPLES}    seed=${FUZZ_SEED}    rate=${FUZZ_RATE}
    ...    control={"type": "ping", "timestamp": 5}    control_reply={"type": "pong", "timestamp": 5}
    ...    max_bytes=${SYSTEM}[max_message_bytes]    timeout=10s    alias=fuzz-${message_type}
    [Teardown]    Close Connection    alias=fuzz-${message_type}

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

Hold The Metric Values And Connect
    [Documentation]    `Hold The Metric Values` (a faulty target might store what it should
    ...    refuse), then connect to Pulse and to the database if the variables name one.
    Hold The Metric Values
    Connect To Dashboard    pulse

Message Should Be Rejected Whole
    [Documentation]    Sends ``message`` (JSON) from a source of its own and with an id;
    ...    expects ``validation_error`` echoing the id and, where the database can be read,
    ...    no row of that source.
    [Arguments]    ${message}
    ${source}=    Unique Source    rejected
    ${sent}=    Evaluate
    ...    {**(json.loads($message) if isinstance($message, str) else $message), "source": $source, "id": $source}
    ...    modules=json
    Send Json    ${sent}
    ${error}=    Wait For Message    {"type": "error", "id": "${source}"}
    Should Be Equal    ${error}[code]    validation_error    ${message} got ${error}
    IF    $SYSTEM['database_url']
        No Record Of Source Should Be Stored    ${source}
    END

Text Should Be Rejected Whole
    [Documentation]    Sends ``text`` verbatim, ``{source}`` and ``{id}`` in it replaced by a
    ...    source of its own; expects an ``error`` with ``code`` (echoing that id where the
    ...    text has ``{id}``) that follows the contract, a connection that keeps working and,
    ...    where the database can be read, no row of that source.
    [Arguments]    ${text}    ${code}
    ${source}=    Unique Source    rejected
    ${sent}=    Replace String    ${text}    {source}    ${source}
    ${sent}=    Replace String    ${sent}    {id}    ${source}
    ${error}=    Error Should Answer    ${sent}    ${code}
    IF    '{id}' in $text
        Should Be Equal    ${error}[id]    ${source}    the error does not echo the id
    END
    IF    $SYSTEM['database_url']
        No Record Of Source Should Be Stored    ${source}
    END

Reply Should Echo The Id
    [Documentation]    Sends ``text`` verbatim and expects a reply of ``reply_type`` that
    ...    follows the contract and carries the ``id`` of ``text``, decoded as JSON.
    [Arguments]    ${text}    ${reply_type}
    ${id}=    Get Json Value    ${text}    $.id
    Send Text    ${text}
    ${reply}=    Wait For Message    {"type": "${reply_type}"}
    Frame Should Follow The Contract    ${reply}
    Should Be Equal    ${reply}[id]    ${id}    the reply does not carry the id unchanged

Message Should Be Accepted
    [Documentation]    Sends ``message`` (JSON) with an id and expects its
    ...    ``metrics_received`` accepting ``records``.
    [Arguments]    ${message}    ${records}
    ${id}=    Unique Source    accepted
    ${sent}=    Evaluate    {**(json.loads($message) if isinstance($message, str) else $message), "id": $id}
    ...    modules=json
    Send Json    ${sent}
    ${ack}=    Wait For Message    {"type": "metrics_received", "id": "${id}"}    timeout=10s
    Should Be Equal As Integers    ${ack}[accepted]    ${records}

No Record Of Source Should Be Stored
    [Documentation]    ``metrics`` holds no row of ``source``.
    [Arguments]    ${source}
    Connect To The Metrics Database    alias=rejected
    VAR    @{parameters}    ${source}
    Check Row Count    SELECT 1 FROM metrics WHERE source = %s    ==    0
    ...    parameters=${parameters}    alias=rejected
    [Teardown]    Disconnect From Database    alias=rejected

Batch Of Baseline Records
    [Documentation]    A ``metrics_batch`` message of ``count`` baseline records.
    [Arguments]    ${count}
    ${records}=    Evaluate
    ...    ([{"metric": m, "value": v} for m, v in $BASELINE.items()] * ${count})[:${count}]
    VAR    &{batch}    type=metrics_batch    records=${records}
    RETURN    ${batch}

Milliseconds Since The Epoch
    [Documentation]    Now, or ``hours_from_now`` hours from now, in ms since the Unix epoch
    ...    (the contract's timestamps).
    [Arguments]    ${hours_from_now}=0
    ${ms}=    Evaluate    int((time.time() + ${hours_from_now} * 3600) * 1000)    modules=time
    RETURN    ${ms}
