"""Configuration from environment variables (protocol.md section 10)."""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

DASHBOARDS = ("pulse", "seams", "voices")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def _int(name: str, low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {text!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    return parse


def _float(name: str, low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {text!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    return parse


def _text(_name: str) -> Callable[[str], str]:
    return lambda text: text.strip()


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str
    parse: Callable[[str], Any]


SETTINGS: tuple[Setting, ...] = (
    Setting("DASHBOARDS_HOST", "127.0.0.1", "address the three servers listen on", _text("")),
    Setting("PULSE_PORT", "3001", "Pulse dashboard port (0 = any free port)",
            _int("PULSE_PORT", 0, 65535)),
    Setting("SEAMS_PORT", "3002", "Seams dashboard port", _int("SEAMS_PORT", 0, 65535)),
    Setting("VOICES_PORT", "3003", "Voices dashboard port", _int("VOICES_PORT", 0, 65535)),
    Setting("DATABASE_URL", "", "PostgreSQL/TimescaleDB DSN, e.g. postgresql://u@host:5432/db",
            _text("")),
    Setting("SLACK_WEBHOOK_URL", "", "Slack incoming-webhook URL for alert notifications",
            _text("")),
    Setting("SMTP_HOST", "", "SMTP server for alert e-mail", _text("")),
    Setting("SMTP_PORT", "25", "SMTP port", _int("SMTP_PORT", 1, 65535)),
    Setting("ALERT_EMAIL_FROM", "dashboards@localhost", "sender of alert e-mail", _text("")),
    Setting("ALERT_EMAIL_TO", "", "recipients of alert e-mail (comma-separated)", _text("")),
    Setting("UPDATE_INTERVAL_MS", "500", "metrics_update period for subscribers",
            _int("UPDATE_INTERVAL_MS", 10, 60_000)),
    Setting("HEARTBEAT_INTERVAL_MS", "5000", "heartbeat period on every connection",
            _int("HEARTBEAT_INTERVAL_MS", 10, 600_000)),
    Setting("SESSION_TTL_S", "60", "how long a disconnected session can be resumed",
            _int("SESSION_TTL_S", 0, 86_400)),
    Setting("MAX_MESSAGE_BYTES", "1048576", "largest accepted frame; larger ones close with 1009",
            _int("MAX_MESSAGE_BYTES", 1024, 1 << 30)),
    Setting("RATE_LIMIT_PER_S", "200", "per-connection token refill rate",
            _float("RATE_LIMIT_PER_S", 0.001, 1e9)),
    Setting("RATE_LIMIT_BURST", "200", "per-connection token bucket size",
            _int("RATE_LIMIT_BURST", 1, 1 << 30)),
    Setting("MAX_CONNECTIONS", "1000", "open connections per dashboard; past it HTTP 503",
            _int("MAX_CONNECTIONS", 1, 1_000_000)),
    Setting("AUTH_TOKENS", "", "token:role,... (roles viewer, producer); empty = no auth",
            _text("")),
    Setting("ALLOWED_ORIGINS", "", "comma-separated Origin allow-list; empty = any", _text("")),
    Setting("P1_GROUP_WAIT_S", "30", "P1 grouping window in s (not scaled, <= 900)",
            _float("P1_GROUP_WAIT_S", 0, 900)),
    Setting("ALERT_COOLDOWN_S", "", "one alert cooldown in s for all metrics (overrides defaults)",
            _text("")),
    Setting("VOICE_COOLDOWN_S", "300", "a deactivated voice is not re-activated for this long",
            _float("VOICE_COOLDOWN_S", 0, 1e7)),
    Setting("ESCALATION_TIME_SCALE", "1.0", "multiplier of escalation delays (tests: small)",
            _float("ESCALATION_TIME_SCALE", 0, 1e6)),
    Setting("LOG_LEVEL", "INFO", "logging level (DEBUG, INFO, WARNING, ERROR)", _text("")),
    Setting("TLS_CERT_FILE", "", "PEM certificate chain: with TLS_KEY_FILE, serve wss:// and "
            "https:// (/healthz, /metrics) on all three ports; empty = plain ws://",
            _text("")),
    Setting("TLS_KEY_FILE", "", "PEM private key (unencrypted) of TLS_CERT_FILE", _text("")),
    Setting("TLS_CLIENT_CA_FILE", "", "PEM CA certificate(s): clients must present a "
            "certificate signed by one (mutual TLS; needs TLS_CERT_FILE); empty = none asked",
            _text("")),
)


@dataclass(frozen=True)
class Config:
    """Validated settings; field names are the lower-cased environment variable names."""

    dashboards_host: str
    pulse_port: int
    seams_port: int
    voices_port: int
    database_url: str
    slack_webhook_url: str
    smtp_host: str
    smtp_port: int
    alert_email_from: str
    alert_email_to: str
    update_interval_ms: int
    heartbeat_interval_ms: int
    session_ttl_s: int
    max_message_bytes: int
    rate_limit_per_s: float
    rate_limit_burst: int
    max_connections: int
    auth_tokens: str
    allowed_origins: str
    p1_group_wait_s: float
    alert_cooldown_s: str
    voice_cooldown_s: float
    escalation_time_scale: float
    log_level: str
    tls_cert_file: str
    tls_key_file: str
    tls_client_ca_file: str

    @property
    def ports(self) -> dict[str, int]:
        return {"pulse": self.pulse_port, "seams": self.seams_port, "voices": self.voices_port}

    @property
    def tls(self) -> bool:
        """True when the servers speak TLS (wss://, https://)."""
        return bool(self.tls_cert_file)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The servers' TLS context (None without TLS); ConfigError naming the setting
        when a file cannot be read or the certificate and key do not match."""
        if not self.tls:
            return None
        _readable("TLS_CERT_FILE", self.tls_cert_file)
        _readable("TLS_KEY_FILE", self.tls_key_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_verify_locations(cafile=self.tls_cert_file)
        except ssl.SSLError as error:
            raise ConfigError(f"TLS_CERT_FILE {self.tls_cert_file} holds no PEM certificate "
                              f"({_ssl_reason(error)})") from None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert_file, self.tls_key_file,
                                    password=functools.partial(_encrypted, self.tls_key_file))
        except ssl.SSLError as error:
            if "KEY_VALUES_MISMATCH" in str(error) or error.reason == "KEY_VALUES_MISMATCH":
                raise ConfigError(f"TLS_KEY_FILE {self.tls_key_file} is not the key of the "
                                  f"certificate in TLS_CERT_FILE {self.tls_cert_file}") from None
            raise ConfigError(f"TLS_KEY_FILE {self.tls_key_file} is not an unencrypted PEM "
                              f"private key ({_ssl_reason(error)})") from None
        if self.tls_client_ca_file:
            _readable("TLS_CLIENT_CA_FILE", self.tls_client_ca_file)
            try:
                context.load_verify_locations(cafile=self.tls_client_ca_file)
            except ssl.SSLError as error:
                raise ConfigError(f"TLS_CLIENT_CA_FILE {self.tls_client_ca_file} holds no PEM "
                                  f"CA certificate ({_ssl_reason(error)})") from None
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read every setting from ``env`` (default: os.environ); raise ConfigError if invalid."""
        env = os.environ if env is None else env
        values = {s.env.lower(): s.parse(env.get(s.env, s.default)) for s in SETTINGS}
        if not values["database_url"]:
            raise ConfigError("DATABASE_URL is required (a PostgreSQL DSN with TimescaleDB)")
        if values["log_level"].upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, "
                              f"got {values['log_level']!r}")
        if bool(values["tls_cert_file"]) != bool(values["tls_key_file"]):
            given, missing = (("TLS_CERT_FILE", "TLS_KEY_FILE") if values["tls_cert_file"]
                              else ("TLS_KEY_FILE", "TLS_CERT_FILE"))
            raise ConfigError(f"{given} is set but {missing} is not: set both (TLS) or "
                              f"neither (plain ws://)")
        if values["tls_client_ca_file"] and not values["tls_cert_file"]:
            raise ConfigError("TLS_CLIENT_CA_FILE needs TLS: set TLS_CERT_FILE and "
                              "TLS_KEY_FILE too")
        return cls(**values)


def _readable(setting: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise ConfigError(f"{setting}: cannot read {path}: {error.strerror or error}") from None


def _encrypted(path: str) -> str:
    # Without a callback OpenSSL would ask for the passphrase of an encrypted key on the tty.
    raise ConfigError(f"TLS_KEY_FILE {path} is encrypted: give an unencrypted private key")


def _ssl_reason(error: ssl.SSLError) -> str:
    return str(error).split(" (_ssl.c:")[0]


def describe() -> str:
    """The environment variables, their defaults and meaning, for ``--help``."""
    width = max(len(s.env) for s in SETTINGS)
    lines = [f"  {s.env:<{width}}  {s.help} (default: {s.default or 'unset'})" for s in SETTINGS]
    return "\n".join(lines)


assert {f.name for f in fields(Config)} == {s.env.lower() for s in SETTINGS}
