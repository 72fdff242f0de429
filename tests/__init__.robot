*** Settings ***
Documentation     Acceptance suite of the Pulse, Seams and Voices WebSocket dashboards.
...
...               The system under test is named in variables/target.py; with no URLs
...               there, the embedded reference system is started for the run.

Resource          ../resources/system_under_test.resource

Suite Setup       Set Up System Under Test
Suite Teardown    Tear Down System Under Test
