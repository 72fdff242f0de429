*** Settings ***
Documentation     Scenario 7: SLO monitoring, voices and seams. Tests 7.4-7.7 cover what the
...               document implies: every band edge that decides a priority, all seven
...               voices, the seams between states, and an alert's lifecycle.

Resource          ../resources/slo.resource
Resource          ../resources/database.resource

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
Test Setup        Hold The Metric Values
Test Teardown     Restore Baseline And Release The Metric Values

Test Tags         section:7-slo


*** Variables ***
# One metric at a time through every state: metric, value, state entered, seam type.
# (pain 0.25 changes no state: it prepares HARMONIOUS_FLOW.)
@{SEAM_WALK}
...             chaos    0.7512    UNKNOWN    pause_seam
...             clarity    0.55    CHAOTIC_CREATION    chaos_seam
...             chaos    0.15    UNKNOWN    pause_seam
...             clarity    0.85    CRYSTALLIZATION    weave_seam
...             chaos    0.45    CREATIVE_TENSION    bridge_seam
...             pain    0.25    ${None}    ${None}
...             trust    0.85    HARMONIOUS_FLOW    insight_seam
...             trust    0.45    CREATIVE_TENSION    bridge_seam
...             pain    0.65    CRISIS_MODE    conflict_seam


*** Test Cases ***
7.1 Clarity Above Its Maximum 0.9 Raises A P1 Alert
    [Documentation]    ``metric_update`` clarity 0.95 → ``slo_alert`` P1 (BLOCK) naming max 0.9,
    ...    and the alert is stored.
    [Tags]    priority:p1
    ...       rule:alerts.opens-on-non-ok-band
    ...       rule:alerts.threshold-bound
    ...       rule:events.slo-alert-fields
    ...       rule:alerts.every-alert-broadcast-and-stored
    ...       rule:events.slo-alert-all-dashboards
    Watch The Alerts On Every Dashboard
    Send Json    {"type": "metric_update", "metric": "clarity", "value": 0.95}
    ${alert}=    Alert Should Be Raised    clarity    0.95    P1    0.9    max
    Should Contain    ${alert}[auto_actions]    activate_pino_hundun
    Alert Should Reach Every Dashboard    ${alert}
    Record Should Be Stored    7.1    the alert    ALERT_STORED_QUERY    alert_id=${alert}[id]
    ...    metric=clarity    priority=P1    value=${alert}[value]

7.2 Chaos Below Its Minimum 0.3 Raises A P1 Alert
    [Documentation]    ``metric_update`` chaos 0.1 → ``slo_alert`` P1 (BLOCK) naming min 0.3.
    [Tags]    priority:p1
    ...       rule:alerts.opens-on-non-ok-band
    ...       rule:alerts.threshold-bound
    ...       rule:events.slo-alert-fields
    Watch The Alerts
    Send Json    {"type": "metric_update", "metric": "chaos", "value": 0.1}
    Alert Should Be Raised    chaos    0.1    P1    0.3    min

7.3 Kain Activates Within 2 Seconds When Chaos Exceeds 0.7
    [Documentation]    Chaos 0.75 activates the voice Kain (``kain``) within 2 s of the update
    ...    that caused it: from sending the update to the activation's arrival.
    [Tags]    rule:voices.activation-within-2s
    ...       rule:voices.reason-metric
    ...       rule:events.voice-fields
    ...       rule:endpoints.shared-state
    Watch The Voices
    Connect To Dashboard    pulse
    ${start}=    Start Stopwatch
    Set Metric    chaos    0.75
    ${kain}=    Voice Should Activate    kain    timeout=${VOICE_ACTIVATION_LIMIT_MS} ms
    ${elapsed}=    Milliseconds Until Last Arrival    ${start}    voices
    Should Be Equal    ${kain}[trigger]    chaos > 0.7
    Figure Should Meet Target    7.3    voice activation time
    ...    ${elapsed}    <    ${VOICE_ACTIVATION_LIMIT_MS}    unit=ms

7.4 Every Band Edge Decides The Right Priority    # robocop: off=LEN04,LEN06
    [Documentation]    Each value on either side of every band limit of the contract raises the
    ...    alert of the right priority naming the violated OK-band limit, or none.
    [Tags]    rule:slo.clarity-bands
    ...       rule:slo.chaos-bands
    ...       rule:slo.trust-bands
    ...       rule:slo.pain-bands
    ...       rule:alerts.threshold-bound
    ...       rule:alerts.opens-on-non-ok-band
    ...       rule:alerts.resolves-in-ok-band
    ...       rule:events.slo-alert-fields
    ...       rule:events.alert-resolved-fields
    [Setup]    Hold The Metric Values And Watch The Alerts
    [Template]    Band Edge Should Decide The Priority
    # metric    value    priority (OK: no alert)    OK-band limit named    bound
    clarity    0.7    OK
    clarity    0.69    P2    0.7    min
    clarity    0.65    P2    0.7    min
    clarity    0.64    P1    0.7    min
    clarity    0.5    P1    0.7    min
    clarity    0.49    P0    0.7    min
    clarity    0.9    OK
    clarity    0.91    P1    0.9    max
    clarity    0.95    P1    0.9    max
    clarity    0.96    P0    0.9    max
    chaos    0.3    OK
    chaos    0.29    P2    0.3    min
    chaos    0.25    P2    0.3    min
    chaos    0.24    P1    0.3    min
    chaos    0.1    P1    0.3    min
    chaos    0.09    P0    0.3    min
    chaos    0.6    OK
    chaos    0.61    P2    0.6    max
    chaos    0.7    P2    0.6    max
    chaos    0.71    P1    0.6    max
    chaos    0.8    P1    0.6    max
    chaos    0.81    P0    0.6    max
    trust    0.6    OK
    trust    0.59    P2    0.6    min
    trust    0.55    P2    0.6    min
    trust    0.54    P1    0.6    min
    trust    0.4    P1    0.6    min
    trust    0.39    P0    0.6    min
    trust    0.9    OK
    trust    0.91    P2    0.9    max
    trust    0.95    P2    0.9    max
    trust    0.96    P1    0.9    max
    pain    0.2    OK
    pain    0.19    P2    0.2    min
    pain    0.5    OK
    pain    0.51    P2    0.5    max
    pain    0.6    P2    0.5    max
    pain    0.61    P1    0.5    max
    pain    0.7    P1    0.5    max
    pain    0.71    P0    0.5    max

7.5 Each Voice Comes On Its Own Condition And Goes When It Ends
    [Documentation]    Each voice with a condition of its own activates when it holds (reason
    ...    ``metric``, the condition as trigger) and deactivates when it no longer does. (Iskriv,
    ...    at trust below 0.4, brings iskra along: the next test.)
    [Tags]    rule:voices.conditions
    ...       rule:voices.reason-metric
    ...       rule:voices.deactivates-when-condition-ends
    ...       rule:events.voice-fields
    [Setup]    Hold The Metric Values And Watch The Voices
    [Template]    Voice Should Answer Its Condition
    # voice    metric    a value that makes its condition hold
    kain    chaos    0.75
    pino    clarity    0.95
    sam    clarity    0.65
    anhantra    trust    0.55
    hundun    chaos    0.15

7.5 Iskra Comes With Two Other Voices And Goes With Them
    [Documentation]    Trust 0.35 activates anhantra and iskriv, and so iskra (synthesis); back
    ...    at the baseline both deactivate, and so does iskra.
    [Tags]    rule:voices.iskra-activates    rule:voices.reason-synthesis    rule:voices.iskra-deactivates
    Watch The Voices
    Connect To Dashboard    pulse
    Iskra Should Come And Go With Two Other Voices

7.5 An Active Voice Is Not Activated Again
    [Documentation]    Kain, active since chaos rose above 0.7, is not activated a second time
    ...    when chaos rises further.
    [Tags]    rule:voices.no-repeat-activation
    Watch The Voices
    Connect To Dashboard    pulse
    Set Metric    chaos    0.75
    Voice Should Activate    kain
    Set Metric    chaos    0.78
    Message Should Not Arrive    {"type": "voice_activation", "voice": "kain"}    within=1s
    ...    alias=voices

7.5 A Voice That An Auto Action Activated Stays Active While Its Trigger Holds
    [Documentation]    Clarity 0.93 activates hundun by the auto-action ``activate_pino_hundun``
    ...    although hundun's own condition (chaos < 0.2) does not hold; it stays active while
    ...    clarity stays above 0.9, and deactivates once clarity is back.
    [Tags]    rule:voices.auto-action-keeps-active    rule:voices.reason-auto-action
    Watch The Voices
    Connect To Dashboard    pulse
    Set Metric    clarity    0.93
    Voice Should Activate    hundun    reason=auto_action
    Set Metric    chaos    0.45
    Message Should Not Arrive    {"type": "voice_deactivation", "voice": "hundun"}    within=1s
    ...    alias=voices
    Set Metric    clarity    0.8
    Voice Should Deactivate    hundun

7.6 Seams Mark Every Change Of State
    [Documentation]    One metric at a time, the system walks through every classified state
    ...    (first match wins); each change is a seam with its type and intensity.
    [Tags]    rule:seams.classification
    ...       rule:seams.first-match-wins
    ...       rule:seams.seam-type
    ...       rule:seams.intensity
    ...       rule:seams.event-on-change
    ...       rule:events.seam-fields
    Connect To Dashboard    pulse
    Connect To Dashboard    seams
    Subscribe To    seams    seams
    ${seam}=    Walk Through Every State    @{SEAM_WALK}
    Record Should Be Stored    7.6    the seam into ${seam}[to]    SEAM_STORED_QUERY
    ...    from_state=${seam}[from]    to_state=${seam}[to]    seam_type=${seam}[seam_type]
    ...    timestamp=${seam}[timestamp]

7.6 Every Seam Condition Is Strict At Its Edges    # robocop: off=LEN04,LEN06
    [Documentation]    From the baseline (CREATIVE_TENSION), one metric at a time onto each
    ...    limit of each state's condition: a value on the limit does not yet meet it
    ...    (no seam, or a seam to the state the other values give), one past it does.
    [Tags]    rule:seams.classification    rule:seams.first-match-wins    rule:seams.event-on-change
    [Setup]    Watch The Seams From The Baseline
    [Template]    Seam Edge Should Decide
    chaos    0.6    UNKNOWN
    chaos    0.4    ${None}
    chaos    0.45    CREATIVE_TENSION
    clarity    0.7    UNKNOWN
    clarity    0.8    CREATIVE_TENSION
    trust    0.81    ${None}
    pain    0.29    HARMONIOUS_FLOW
    trust    0.8    CREATIVE_TENSION
    pain    0.3    ${None}
    clarity    0.81    ${None}
    chaos    0.2    UNKNOWN
    chaos    0.19    CRYSTALLIZATION
    clarity    0.8    UNKNOWN
    chaos    0.71    ${None}
    clarity    0.6    ${None}
    clarity    0.59    CHAOTIC_CREATION
    chaos    0.7    UNKNOWN
    chaos    0.45    ${None}
    clarity    0.65    ${None}
    trust    0.5    ${None}
    pain    0.6    ${None}
    trust    0.49    ${None}
    pain    0.61    CRISIS_MODE

7.7 An Alert Escalates Under One Id And Resolves Once
    [Documentation]    Pain 0.55 opens a P2 alert, 0.75 escalates it to P0 under the same id,
    ...    0.65 (lower band) changes nothing, and the baseline resolves it.
    [Tags]    rule:alerts.opens-on-non-ok-band
    ...       rule:alerts.escalates-same-id
    ...       rule:alerts.lower-band-no-change
    ...       rule:alerts.resolves-in-ok-band
    ...       rule:alerts.one-open-per-metric
    Watch The Alerts
    Set Metric    pain    0.55
    ${p2}=    Alert Should Be Raised    pain    0.55    P2    0.5    max
    Set Metric    pain    0.75
    ${p0}=    Alert Should Be Raised    pain    0.75    P0    0.5    max
    Should Be Equal    ${p0}[id]    ${p2}[id]
    Set Metric    pain    0.65
    No Alert Should Be Raised For    pain
    Set Metric    pain    0.3
    Alert Should Be Resolved    ${p0}[id]
