*** Settings ***
Documentation    A set-up every shard reaches, to run once for all of them.

Library          pabot.PabotLib

Suite Setup      Run Setup Only Once    Set Up The Run


*** Test Cases ***
Set Up Before
    [Documentation]    Runs after the set-up, wherever it ran.
    No Operation


*** Keywords ***
Set Up The Run
    [Documentation]    What a run sets up once.
    Log    set up
