"""The deployment recipes, read as Docker, Compose and systemd would read them.

Images cannot be built here, so these tests hold the recipes to what the rest of the suite proves: the
Dockerfile installs exactly the files that tests/test_install.py installs from (a plain `pip install .`),
runs a command the package provides, as a user that is not root, with DATA_DIR on a volume.
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path

import yaml
from test_install import INSTALL_SOURCES

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SCRIPTS = PYPROJECT["project"]["scripts"]


def instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments left out."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        name, _, args = full.partition(" ")
        out.append((name.upper(), args.strip()))
    return out


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def given(name: str) -> list[str]:
    return [args for instruction, args in DOCKERFILE if instruction == name]


def env() -> dict[str, str]:
    values: dict[str, str] = {}
    for args in given("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            values[key] = value
    return values


def test_the_image_is_a_slim_python_the_package_supports() -> None:
    (base,) = given("FROM")
    found = re.fullmatch(r"python:(3)\.([0-9]+)-slim", base)
    assert found, base
    wanted = re.search(r">=\s*3\.([0-9]+)", PYPROJECT["project"]["requires-python"])
    assert wanted and int(found.group(2)) >= int(wanted.group(1))


def test_the_image_installs_what_a_plain_install_installs() -> None:
    copied = {source for args in given("COPY") for source in shlex.split(args)[:-1]}
    assert copied == set(INSTALL_SOURCES)
    installs = [args for args in given("RUN") if "pip install" in args]
    assert installs and all(re.search(r"pip install \.(\s|$)", args) for args in installs)
    assert not any("-e" in shlex.split(args) for args in installs), "an editable install needs the source"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert kept == set(INSTALL_SOURCES), "the build context holds what the image copies, no .env or data/"


def test_the_bot_runs_as_a_user_that_is_not_root_with_its_state_on_a_volume() -> None:
    (user,) = given("USER")
    assert user not in ("root", "0") and any("useradd" in a and user in a for a in given("RUN"))
    data = env()["DATA_DIR"]
    assert any(data in args for args in given("VOLUME"))
    assert given("WORKDIR")[-1] == data, "a faq.yaml of one's own, put in the volume, is served"
    assert env()["WEBHOOK_LISTEN"] == "0.0.0.0", "a webhook must be reachable from outside the container"


def test_the_image_runs_the_bot_and_checks_its_health() -> None:
    (command,) = given("CMD")
    assert command.startswith("[")
    program, *args = yaml.safe_load(command)
    assert program in SCRIPTS and args == ["run"]
    (health,) = given("HEALTHCHECK")
    assert "/healthz" in health and "WEBHOOK_PORT" in health


def test_compose_builds_the_image_with_its_settings_and_volume() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    (service,) = compose["services"].values()
    assert service["build"] == "." and service["restart"] in ("unless-stopped", "always")
    assert service["env_file"] == ".env"
    data = env()["DATA_DIR"]
    assert service["environment"]["DATA_DIR"] == data
    volume, _, target = service["volumes"][0].partition(":")
    assert target == data and volume in compose["volumes"]


def test_compose_on_postgresql_adds_a_healthy_database_the_bot_waits_for() -> None:
    base = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    overlay = yaml.safe_load((ROOT / "compose.postgres.yaml").read_text(encoding="utf-8"))
    bot, db = overlay["services"]["bot"], overlay["services"]["db"]
    assert set(overlay["services"]) - set(base["services"]) == {"db"}, (
        "the bot service is extended, not added"
    )
    extra = bot["build"]["args"]["EXTRAS"]
    assert bot["build"]["context"] == "." and extra in PYPROJECT["project"]["optional-dependencies"]
    assert any("psycopg" in need for need in PYPROJECT["project"]["optional-dependencies"][extra])
    assert 'ARG EXTRAS=""' in (ROOT / "Dockerfile").read_text(encoding="utf-8"), "without it: no driver"
    assert any('pip install ".[$EXTRAS]"' in args for args in given("RUN"))
    url = bot["environment"]["DATABASE_URL"]
    env = db["environment"]
    assert url.startswith(f"postgresql://{env['POSTGRES_USER']}:") and url.endswith(
        f"@db:5432/{env['POSTGRES_DB']}"
    )
    assert "${POSTGRES_PASSWORD:?" in url and "${POSTGRES_PASSWORD:?" in env["POSTGRES_PASSWORD"]
    assert (
        bot["depends_on"]["db"]["condition"] == "service_healthy"
        and "pg_isready" in db["healthcheck"]["test"]
    )
    volume, _, target = db["volumes"][0].partition(":")
    assert volume in overlay["volumes"] and target == "/var/lib/postgresql/data"


def test_the_systemd_unit_runs_the_installed_bot_in_its_own_folder() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "legpress-bot.service", encoding="utf-8")
    service = unit["Service"]
    home = service["WorkingDirectory"]
    assert home.startswith("/")
    assert service["EnvironmentFile"].lstrip("-") == f"{home}/.env"
    program, command = Path(shlex.split(service["ExecStart"])[0]).name, shlex.split(service["ExecStart"])[1:]
    assert program in SCRIPTS and command == ["run"]
    assert service["Restart"] in ("on-failure", "always")
    assert "2" in service["RestartPreventExitStatus"].split(), "a setting to fix is not restarted in a loop"
    assert home in service["ReadWritePaths"].split(), "./data lives in the working folder"
    assert "HUP" in service["ExecReload"], "systemctl reload re-reads faq.yaml"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_readme_quick_start_stays_two_commands_and_deploy_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in quick.splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2, commands
    deploy = readme.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "pip install .",
        "docker compose up",
        "deploy/legpress-bot.service",
        "DATA_DIR",
        "compose.postgres.yaml",
        "several replicas",
        "--scale bot=2",
        "storage copy --to",
    ):
        assert needed in deploy, needed
