"""DATABASE_URL: checked when read and at start-up; a bad or unreachable one is one line, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FAQ
from pg import free_port
from test_reliability_config import assert_clean_failure, run_bot

from bot.config import ConfigError, load_settings


def settings_with(url: str) -> str:
    return load_settings({"DATABASE_URL": url}, env_file=None).database_url


def test_without_database_url_the_state_stays_in_data_dir() -> None:
    assert load_settings({}, env_file=None).database_url == ""


@pytest.mark.parametrize(
    "url", ["postgresql://bot:pw@db.example.org:5432/legpress", "postgres://db.example.org/legpress"]
)
def test_a_postgresql_address_is_taken_and_its_password_is_a_secret(url: str) -> None:
    settings = load_settings({"DATABASE_URL": url}, env_file=None)
    assert settings.database_url == url
    assert ("pw" in settings.secrets) == (":pw@" in url)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://db.example.org/legpress",
        "postgresql:///legpress",
        "dbhost.internal:5432",
        "postgresql://h:x/db",
    ],
)
def test_a_malformed_address_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL") as caught:
        settings_with(url)
    assert url not in str(caught.value)


def test_a_malformed_database_url_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = run_bot(tmp_path, FAQ_PATH=str(FAQ), DATABASE_URL="mysql://bot:sekret@db/legpress")
    assert result.returncode == 2
    (line,) = assert_clean_failure(result)
    assert "DATABASE_URL must be a postgresql:// address" in line and "sekret" not in line


def test_an_unreachable_database_is_one_line_and_status_2(tmp_path: Path) -> None:
    url = f"postgresql://bot:sekret@127.0.0.1:{free_port()}/legpress"
    result = run_bot(tmp_path, FAQ_PATH=str(FAQ), DATABASE_URL=url)
    assert result.returncode == 2
    (line,) = assert_clean_failure(result)
    assert line.startswith("legpress-bot: cannot use the database at 127.0.0.1:") and "sekret" not in line
