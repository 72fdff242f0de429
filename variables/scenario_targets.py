"""The scenario document's pass criteria, copied here on purpose.

The suite keeps its OWN copy of every expectation: a test that read its limits from the
system under test could never fail.
"""

# Scenario 1.1-1.3: connection established in under 500 ms.
CONNECT_LATENCY_LIMIT_MS = 500
# Scenario 2.1: pong within 200 ms.
PING_ROUND_TRIP_LIMIT_MS = 200
# The ping of scenario 2.1, verbatim.
PING_TIMESTAMP = 1640995200000
