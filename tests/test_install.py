"""A plain (not editable) install, used from another folder: the content ships inside the package.

The package is built offline from a copy of the files an sdist holds, with this environment's setuptools
(`--no-build-isolation`), into a fresh virtual environment that borrows only the dependencies from this one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from bot import __version__

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SOURCES = ("bot", "pyproject.toml", "README.md")  # what an sdist holds; the Dockerfile copies them
PIP_OFFLINE = ("-q", "--no-deps", "--no-build-isolation", "--no-index")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh environment where `pip install .` put the bot."""
    base = tmp_path_factory.mktemp("install")
    source = base / "src"
    source.mkdir()
    for name in INSTALL_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    found = subprocess.run([python, "-c", where], capture_output=True, text=True, check=True)
    target = Path(found.stdout.strip())
    # the dependencies (and setuptools) come from this environment; the bot itself does not
    (target / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", *PIP_OFFLINE, str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return env_dir / "bin"


def run_installed(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FAQ_PATH", "PYTHONPATH", "DATA_DIR")}
    return subprocess.run(
        [str(bin_dir / "legpress-bot"), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=60,
    )


def test_an_installed_bot_checks_its_own_content_from_any_folder(installed: Path, tmp_path: Path) -> None:
    r = run_installed(installed, tmp_path, "check")
    assert r.returncode == 0, r.stderr
    assert "OK: 16 entries" in r.stdout
    assert "site-packages" in r.stdout  # the packaged faq.yaml, not the repository's


def test_an_installed_bot_answers_from_any_folder(installed: Path, tmp_path: Path) -> None:
    r = run_installed(installed, tmp_path, "ask", "where should my feet go on the leg press?")
    assert r.returncode == 0, r.stderr
    assert "platform" in r.stdout.lower()


def test_a_faq_yaml_in_the_working_folder_wins_over_the_packaged_one(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text("entries: []\n", encoding="utf-8")
    r = run_installed(installed, tmp_path, "check")
    assert r.returncode == 1 and "faq.yaml" in r.stderr and "site-packages" not in r.stderr


def test_the_version_is_the_package_version(installed: Path, tmp_path: Path) -> None:
    r = run_installed(installed, tmp_path, "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"legpress-bot {__version__}"
