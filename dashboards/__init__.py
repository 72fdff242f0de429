"""Reference system: the dashboards WebSocket API of protocol.md, implemented for real.

Pulse, Seams and Voices are three WebSocket servers in one process sharing one state and
one TimescaleDB. ``python -m dashboards --help`` lists the configuration.
"""

__version__ = "0.1.0"
PROTOCOL_VERSION = "1.0"
