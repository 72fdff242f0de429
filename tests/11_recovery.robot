*** Settings ***
Documentation     Recovery (scenario 4 and the document's "auto-recovery < 5 seconds"): a
...               restart and a database outage, brought about by the deployment's own means
...               (RESTART_COMMAND, DATABASE_STOP_COMMAND, DATABASE_START_COMMAND). With the
...               embedded system each test deploys a system of its own and controls it by
...               the same kind of commands; against an external target they act on the
...               target itself, so scripts/acceptance runs this suite after all others.
...               Every acknowledged record must survive (an ack means durable), and service
...               must come back.

Resource          ../resources/dashboards.resource
Resource          ../resources/database.resource
Library           DateTime
Library           DeploymentControl

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Teardown     End Recovery Test

Test Tags         section:4-stability    rule:ingest.ack-after-commit


*** Test Cases ***
4.4 A Restart Loses No Acknowledged Record And Service Recovers
    [Documentation]    The system is restarted while it acknowledges a stream of metrics
    ...    (trust 0.7, pain 0.25). Every record acknowledged before the restart is stored;
    ...    afterwards every dashboard answers again and serves the stored values. The time
    ...    from losing the connection to being connected again is scored against the
    ...    document's 5 s.
    [Tags]    rule:events.restart-latest-stored
    [Setup]    Use A Target That Can Be Restarted
    ${source}=    Unique Source    restart
    ${acked}=    Restart The Target While It Acknowledges    ${source}
    ${recovery}=    Reconnection Should Succeed
    Record Figure    4.4    restart: connection lost to connected again
    ...    ${recovery}    <    ${RECOVERY_LIMIT_MS}    unit=ms
    Records Of Source Should Be Stored    4.4    ${source}    ${acked}
    Stored Values Should Be Served

4.5 A Database Outage Is Reported And Nothing Is Acknowledged Until It Ends
    [Documentation]    While the database is stopped every dashboard's /healthz answers 503
    ...    with ``"database":"down"`` and no record is acknowledged (an ack means durable);
    ...    once it is back, /healthz answers 200 again, records are acknowledged and stored.
    ...    The time from the database being back to service is scored against the
    ...    document's 5 s.
    [Tags]    rule:endpoints.healthz-database-down
    [Setup]    Use A Target Whose Database Can Be Stopped
    ${source}=    Unique Source    outage
    Connect To Target    outage
    Set Metric    pain    0.3    alias=outage
    Stop The Database
    Every Dashboard Should Report The Database Down
    Records Sent During The Outage Should Not Be Acknowledged    ${source}
    ${recovery}=    Start The Database And Wait For Service    ${source}
    Record Figure    4.5    database back to records acknowledged
    ...    ${recovery}    <    ${RECOVERY_LIMIT_MS}    unit=ms
    # The ack that ended the wait for service was consumed: it accepted one record.
    ${acked}=    Records Acknowledged    outage    consumed=1
    Records Of Source Should Be Stored    4.5    ${source}    ${acked}


*** Keywords ***
Use A Target That Can Be Restarted
    [Documentation]    The target of the test as ``${TARGET}``: a system of the test's own
    ...    with the embedded system, else the external target with its RESTART_COMMAND
    ...    (skipped, naming it, when the variables give none). Holds the metric values.
    Use A Controllable Target    RESTART_COMMAND    ${RESTART_COMMAND}

Use A Target Whose Database Can Be Stopped
    [Documentation]    As `Use A Target That Can Be Restarted`, for DATABASE_STOP_COMMAND and
    ...    DATABASE_START_COMMAND.
    Use A Controllable Target    DATABASE_STOP_COMMAND and DATABASE_START_COMMAND
    ...    ${DATABASE_STOP_COMMAND}    ${DATABASE_START_COMMAND}

Use A Controllable Target
    [Documentation]    Sets ``${TARGET}``: the system, its database and the commands that
    ...    control it. ``commands`` are the values of the settings named ``settings``.
    [Arguments]    ${settings}    @{commands}
    IF    not $SYSTEM['embedded']
        Skip If    not all($commands)
        ...    The variables name no ${settings}: the target cannot be controlled.
    END
    Hold The Metric Values
    IF    $SYSTEM['embedded']
        &{deployed}=    Deploy Reference System    settings=${EMBEDDED_SETTINGS}
        &{target}=    Describe Target    ${deployed}[urls]    ${deployed}[database_url]
        ...    &{EMBEDDED_ACCESS}
        Set To Dictionary    ${target}    &{deployed}
    ELSE
        VAR    &{commands}    restart_command=${RESTART_COMMAND}
        ...    database_stop_command=${DATABASE_STOP_COMMAND}
        ...    database_start_command=${DATABASE_START_COMMAND}
        &{target}=    Evaluate    {**$SYSTEM, **$commands}
    END
    VAR    &{TARGET}    &{target}    scope=TEST    # robocop: off=VAR06

End Recovery Test
    [Documentation]    Closes the connections, stops a command still running, removes a
    ...    system of the test's own, restores the baseline and releases the metric values.
    Run Keyword And Ignore Error    Stop All Deployment Commands
    Run Keyword And Ignore Error    Remove Deployments
    Run Keyword And Ignore Error    Disconnect From All Databases
    Restore Baseline And Release The Metric Values

Connect To Target
    [Documentation]    Connects to the target's Pulse dashboard as its producer.
    [Arguments]    ${alias}
    Connect    ${TARGET}[urls][pulse]    alias=${alias}    &{TARGET}[producer]
    Wait For Message    {"type": "welcome", "dashboard": "pulse"}    alias=${alias}

Restart The Target While It Acknowledges
    [Documentation]    Streams metrics from ``source`` (trust 0.7, pain 0.25) and runs the
    ...    restart command meanwhile (after a first record was acknowledged); the stream
    ...    ends when the connection is lost (or after 10 s of a restart that never breaks
    ...    it). Returns the records acknowledged.
    [Arguments]    ${source}
    VAR    ${message}
    ...    {"type": "metrics", "source": "${source}", "data": {"trust": 0.7, "pain": 0.25}}
    Connect To Target    restart
    Enable Auto Reconnect    alias=restart    initial_delay=50ms    max_delay=250ms
    # One acknowledged record before the restart, however quickly the command stops it.
    Send Json    ${message}    alias=restart
    Wait For Message    {"type": "metrics_received"}    alias=restart
    ${restart}=    Start Deployment Command    ${TARGET}[restart_command]    RESTART_COMMAND
    Run Keyword And Ignore Error    Send At Rate    ${message}    rate=200    duration=10s
    ...    alias=restart
    Wait For Deployment Command    ${restart}    timeout=${COMMAND_TIMEOUT}
    # The first ack was consumed by its wait: it accepted two records.
    ${acked}=    Records Acknowledged    restart    consumed=2
    RETURN    ${acked}

Reconnection Should Succeed
    [Documentation]    Waits until every dashboard answers /healthz and the connection of the
    ...    restart is connected again; returns the ms from losing it to reconnecting (0 when
    ...    the restart never broke it).
    Wait Until Dashboards Report    ${TARGET}[urls]    200    timeout=${RECOVERY_TIMEOUT}
    ...    &{TARGET}[producer]
    ${info}=    Get Connection Info    restart
    IF    $info['reconnections'] == 0    RETURN    ${0}
    ${recovery}=    Wait For Reconnection    timeout=${RECOVERY_TIMEOUT}    alias=restart
    RETURN    ${recovery}

Records Acknowledged
    [Documentation]    The records that the ``metrics_received`` acks buffered on ``alias``
    ...    accepted, plus ``consumed``: the records of acks a wait already took.
    [Arguments]    ${alias}    ${consumed}=0
    ${acks}=    Get Buffered Messages    {"type": "metrics_received"}    alias=${alias}
    ${records}=    Evaluate    sum(ack['accepted'] for ack in $acks) + int($consumed)
    RETURN    ${records}

Records Of Source Should Be Stored
    [Documentation]    The target's ``metrics`` table holds at least ``acked`` rows of
    ...    ``source``: no acknowledged record was lost.
    [Arguments]    ${scenario}    ${source}    ${acked}
    Connect To The Metrics Database    ${TARGET}[database_url]
    ${stored}=    Count Stored Rows    ${source}
    Should Be True    ${stored} >= ${acked}
    ...    ${acked} records of ${source} were acknowledged, ${stored} are stored.
    Record Figure    ${scenario}    acknowledged records kept
    ...    ${stored * 100 / ${acked}}    >=    100    unit=%

Stored Values Should Be Served
    [Documentation]    A new subscriber gets the values stored last (trust 0.7, pain 0.25).
    Connect To Target    after
    Send Json    {"type": "subscribe", "channels": ["trust", "pain"]}    alias=after
    Wait For Message    {"type": "metrics_update", "data": {"trust": 0.7, "pain": 0.25}}
    ...    timeout=3s    alias=after

Stop The Database
    [Documentation]    Runs the target's DATABASE_STOP_COMMAND.
    Run Deployment Command    ${TARGET}[database_stop_command]    DATABASE_STOP_COMMAND
    ...    timeout=${COMMAND_TIMEOUT}

Every Dashboard Should Report The Database Down
    [Documentation]    Within 15 s every dashboard's /healthz answers 503 with
    ...    ``"database":"down"``.
    Wait Until Dashboards Report    ${TARGET}[urls]    503    database=down    timeout=15s
    ...    &{TARGET}[producer]

Start The Database And Wait For Service
    [Documentation]    Runs the target's DATABASE_START_COMMAND, waits until every dashboard's
    ...    /healthz answers 200 with ``"database":"ok"`` and a record from ``source`` is
    ...    acknowledged; returns the ms from the command's end to that ack.
    [Arguments]    ${source}
    Run Deployment Command    ${TARGET}[database_start_command]    DATABASE_START_COMMAND
    ...    timeout=${COMMAND_TIMEOUT}
    ${start}=    Start Stopwatch
    Wait Until Dashboards Report    ${TARGET}[urls]    200    database=ok
    ...    timeout=${RECOVERY_TIMEOUT}    &{TARGET}[producer]
    Records Should Be Acknowledged Again    ${source}
    ${recovery}=    Milliseconds Until Last Arrival    ${start}    outage
    RETURN    ${recovery}

Records Sent During The Outage Should Not Be Acknowledged
    [Documentation]    Sends three records from ``source`` while the database is down: none
    ...    may be acknowledged while nothing can be committed (an error, or no answer until
    ...    the database is back, are both allowed).
    [Arguments]    ${source}
    FOR    ${number}    IN RANGE    3
        Send Json
        ...    {"type": "metric_update", "metric": "pain", "value": 0.3, "id": "down-${number}", "source": "${source}"}
        ...    alias=outage
    END
    Message Should Not Arrive    {"type": "metrics_received"}    within=2s    alias=outage

Records Should Be Acknowledged Again
    [Documentation]    Sends a record from ``source`` every second until one is acknowledged
    ...    (a system may need a moment to reconnect to its database after /healthz is ok);
    ...    fails after ``${RECOVERY_TIMEOUT}``.
    [Arguments]    ${source}
    VAR    ${message}    {"type": "metric_update", "metric": "pain", "value": 0.3, "id": "back", "source": "${source}"}
    ${start}=    Start Stopwatch
    ${limit}=    Convert Time    ${RECOVERY_TIMEOUT}
    WHILE    True
        Send Json    ${message}    alias=outage
        ${status}    ${error}=    Run Keyword And Ignore Error    Wait For Message
        ...    {"type": "metrics_received", "id": "back"}    timeout=1s    alias=outage
        IF    $status == 'PASS'    BREAK
        ${elapsed}=    Milliseconds Since    ${start}
        IF    ${elapsed} > ${limit} * 1000
            Fail    No record was acknowledged within ${RECOVERY_TIMEOUT} of the database being back: ${error}
        END
    END
