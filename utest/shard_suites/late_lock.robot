*** Settings ***
Documentation    Says it started (file ``started``), then takes lock l1 once the file
...              ``go`` exists: the test of a PabotLib server that goes away mid-run.

Library          OperatingSystem
Library          pabot.PabotLib


*** Variables ***
${DIR}    ${TEMPDIR}


*** Test Cases ***
Lock After Go
    [Documentation]    Takes l1 after the server may have gone.
    Create File    ${DIR}/started
    Wait Until Created    ${DIR}/go    timeout=60s
    Acquire Lock    l1
    [Teardown]    Release Lock    l1
