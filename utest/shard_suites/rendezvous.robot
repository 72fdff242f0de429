*** Settings ***
Documentation    Holds lock l1 until the other shard's test holds it too: possible only
...              when the two shards do not share a PabotLib server.

Library          OperatingSystem
Library          pabot.PabotLib


*** Variables ***
${DIR}     ${TEMPDIR}
${ME}      a
${PEER}    b


*** Test Cases ***
Hold Until The Other Holds Too
    [Documentation]    Meets the other shard's test while both hold l1.
    Acquire Lock    l1
    Create File    ${DIR}/${ME}
    Wait Until Keyword Succeeds    30s    0.05s    File Should Exist    ${DIR}/${PEER}
    [Teardown]    Release Lock    l1
