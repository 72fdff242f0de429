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
