#!/usr/bin/env python3
"""Set up and run the platform on a machine that has only Python 3.11+.

    python3 dev.py serve   # create .venv if needed, install, start everything (`iro serve`)
    python3 dev.py test    # create .venv if needed, install, run lint, types, contracts and tests
    python3 dev.py <cmd>   # run any command inside the virtual environment, e.g. `iro token ...`

The virtual environment lives in `.venv/` and is reinstalled when `pyproject.toml` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject.sha256"

CHECKS = [
    ["ruff", "check", "."],
    ["ruff", "format", "--check", "."],
    ["mypy", "shared", "services"],
    ["lint-imports"],
]


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing the platform and its development tools into .venv ...", file=sys.stderr, flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True, stdout=sys.stderr)
    STAMP.write_text(digest)


def venv_env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", VIRTUAL_ENV=str(VENV))


def run(cmd: list[str]) -> int:
    return subprocess.call(cmd, cwd=ROOT, env=venv_env())


def replace_with(cmd: list[str]) -> None:
    """Become `cmd`, so that Ctrl-C and SIGTERM reach it directly and it alone decides how to stop."""
    os.chdir(ROOT)
    os.execvpe(cmd[0], cmd, venv_env())


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    ensure_venv()
    if argv[0] == "serve":
        replace_with(["iro", "serve", *argv[1:]])
    if argv[0] == "test":
        for check in CHECKS:
            print("$", " ".join(check), flush=True)
            if code := run(check):
                return code
        return run(["pytest", *argv[1:]])
    replace_with(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
