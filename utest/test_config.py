"""Configuration from the environment (protocol.md section 10)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboards.config import SETTINGS, Config, ConfigError

BASE = {"DATABASE_URL": "postgresql://u@127.0.0.1/db"}


def test_defaults_are_the_contract_defaults() -> None:
    config = Config.from_env(BASE)
    assert config.ports == {"pulse": 3001, "seams": 3002, "voices": 3003}
    assert config.dashboards_host == "127.0.0.1"
    assert config.heartbeat_interval_ms == 5000
    assert config.update_interval_ms == 500
    assert config.max_message_bytes == 1024 * 1024
    assert config.rate_limit_per_s == 200 and config.rate_limit_burst == 200
    assert config.max_connections == 1000
    assert config.session_ttl_s == 60
    assert config.p1_group_wait_s == 30
    assert config.escalation_time_scale == 1.0


@pytest.mark.parametrize(("name", "value", "words"), [
    ("PULSE_PORT", "abc", "must be an integer"),
    ("PULSE_PORT", "70000", "between 0 and 65535"),
    ("HEARTBEAT_INTERVAL_MS", "0", "between"),
    ("P1_GROUP_WAIT_S", "901", "between 0 and 900"),
    ("ESCALATION_TIME_SCALE", "fast", "must be a number"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
])
def test_bad_values_are_refused_naming_the_variable(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Config.from_env({**BASE, name: value})
    assert name in str(raised.value) and words in str(raised.value)


def test_database_url_is_required() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Config.from_env({})


def test_help_lists_every_variable() -> None:
    out = subprocess.run([sys.executable, "-m", "dashboards", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for setting in SETTINGS:
        assert setting.env in out


def test_bad_configuration_exits_2_with_a_message() -> None:
    run = subprocess.run([sys.executable, "-m", "dashboards"], capture_output=True, text=True,
                         check=False, env={"DATABASE_URL": "x", "PULSE_PORT": "nope", "PATH": ""})
    assert run.returncode == 2
    assert "PULSE_PORT" in run.stderr
