"""Inputs at the edges of JSON (protocol.md section 2), as the text a client sends.

Kept as text here: Robot Framework data would turn ``\\ud800`` into a character, and
Python's own ``json`` refuses integers of more than 4,300 digits.
"""

# A JSON string escape of a lone surrogate: legal JSON, not encodable as UTF-8 unescaped.
LONE_SURROGATE_ESCAPE = r"\ud800"
LONE_LOW_SURROGATE_ESCAPE = r"\udfff"
# Valid JSON numbers out of range for any field of the contract.
HUGE_INTEGER = "9" * 5000
OUT_OF_RANGE_FLOAT = "1e309"
