*** Settings ***
Documentation    Each test holds lock l1 while no test of another shard may: its marker
...              file exists only while it holds the lock.

Library          OperatingSystem
Library          pabot.PabotLib

Test Template    Hold Alone


*** Variables ***
${DIR}      ${TEMPDIR}
${ME}       a
${OTHER}    b


*** Test Cases ***
Hold 1    1
Hold 2    2
Hold 3    3
Hold 4    4
Hold 5    5


*** Keywords ***
Hold Alone
    [Documentation]    Holds l1 for round ``round``, checking 20 times that the other
    ...    shard's marker is absent.
    [Arguments]    ${round}
    Log    round ${round}
    Acquire Lock    l1
    Create File    ${DIR}/${ME}
    FOR    ${_}    IN RANGE    20
        File Should Not Exist    ${DIR}/${OTHER}
    END
    Remove File    ${DIR}/${ME}
    [Teardown]    Release Lock    l1
