*** Settings ***
Documentation     Acceptance tests of WebSocketLibrary against a plain ``websockets`` server
...               and a Node ``ws`` server (see atest/servers/PROTOCOL.md). Each test runs
...               its keyword once per server.

Resource          ../resources/websocket.resource

Suite Teardown    Stop Test Servers
