"""The suite's own copy of the contract's tables (protocol.md sections 4-7).

Copied by hand from the contract on purpose: expectations never come from the system
under test.
"""

METRICS = ["clarity", "chaos", "trust", "pain"]
# Values before any ingest, and the neutral state tests restore when they finish.
BASELINE = {"clarity": 0.8, "chaos": 0.45, "trust": 0.8, "pain": 0.3}

CHANNELS = {
    "pulse": ["clarity", "chaos", "trust", "pain", "alerts"],
    "seams": ["seams", "alerts"],
    "voices": ["voices", "alerts"],
}

# Every band edge that decides a priority (section 6): metric, value, expected priority
# (None = OK), and the OK-band limit named in the alert.
BAND_EDGES = [
    ("clarity", 0.7, None, None, None),
    ("clarity", 0.69, "P2", 0.7, "min"),
    ("clarity", 0.65, "P2", 0.7, "min"),
    ("clarity", 0.64, "P1", 0.7, "min"),
    ("clarity", 0.5, "P1", 0.7, "min"),
    ("clarity", 0.49, "P0", 0.7, "min"),
    ("clarity", 0.9, None, None, None),
    ("clarity", 0.91, "P1", 0.9, "max"),
    ("clarity", 0.95, "P1", 0.9, "max"),
    ("clarity", 0.96, "P0", 0.9, "max"),
    ("chaos", 0.3, None, None, None),
    ("chaos", 0.29, "P2", 0.3, "min"),
    ("chaos", 0.25, "P2", 0.3, "min"),
    ("chaos", 0.24, "P1", 0.3, "min"),
    ("chaos", 0.1, "P1", 0.3, "min"),
    ("chaos", 0.09, "P0", 0.3, "min"),
    ("chaos", 0.6, None, None, None),
    ("chaos", 0.61, "P2", 0.6, "max"),
    ("chaos", 0.7, "P2", 0.6, "max"),
    ("chaos", 0.71, "P1", 0.6, "max"),
    ("chaos", 0.8, "P1", 0.6, "max"),
    ("chaos", 0.81, "P0", 0.6, "max"),
    ("trust", 0.6, None, None, None),
    ("trust", 0.59, "P2", 0.6, "min"),
    ("trust", 0.55, "P2", 0.6, "min"),
    ("trust", 0.54, "P1", 0.6, "min"),
    ("trust", 0.4, "P1", 0.6, "min"),
    ("trust", 0.39, "P0", 0.6, "min"),
    ("trust", 0.9, None, None, None),
    ("trust", 0.91, "P2", 0.9, "max"),
    ("trust", 0.95, "P2", 0.9, "max"),
    ("trust", 0.96, "P1", 0.9, "max"),
    ("pain", 0.2, None, None, None),
    ("pain", 0.19, "P2", 0.2, "min"),
    ("pain", 0.5, None, None, None),
    ("pain", 0.51, "P2", 0.5, "max"),
    ("pain", 0.6, "P2", 0.5, "max"),
    ("pain", 0.61, "P1", 0.5, "max"),
    ("pain", 0.7, "P1", 0.5, "max"),
    ("pain", 0.71, "P0", 0.5, "max"),
]
LEVELS = {"P0": "CRITICAL", "P1": "BLOCK", "P2": "WARN"}

# The seven voices (section 7): id, metric, operator, limit. iskra is synthesis.
VOICE_CONDITIONS = {
    "kain": ("chaos", ">", 0.7),
    "pino": ("clarity", ">", 0.9),
    "sam": ("clarity", "<", 0.7),
    "anhantra": ("trust", "<", 0.6),
    "hundun": ("chaos", "<", 0.2),
    "iskriv": ("trust", "<", 0.4),
}

# How a notification names the role it is addressed to (protocol.md section 6 names them
# "DevOps Lead", "SRE", "Tech Lead" and "PM"): a pattern per role, tolerant of case, spaces,
# "_" and "-" (devops_lead, DevOps-Lead). A target that spells its roles otherwise overrides
# this in its variables file.
ROLE_PATTERNS = {
    "devops_lead": r"(?i)\bdev\s*ops[\s_-]*lead\b",
    "sre": r"\b(?:SRE|sre)\b|(?i:site reliability)",
    "tech_lead": r"(?i)\btech(?:nical)?[\s_-]*lead\b",
    "pm": r"\b(?:PM|pm)\b|(?i:product manager)",
}
