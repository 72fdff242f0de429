"""The version of robotframework-websocketlibrary: the one place it is written."""

__version__ = "0.3.0"
