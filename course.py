#!/usr/bin/env python3
"""Set up and run the minicnn course with one command.

    python3 course.py lab        set everything up, then open JupyterLab on notebooks/
    python3 course.py test       set everything up, then run the whole test suite
    python3 course.py notebooks  re-execute the notebooks and store their outputs
    python3 course.py setup      only set up (.venv with the package and its tools)
    python3 course.py bench      also install PyTorch 2.13 (CPU), then time minicnn against it

Set-up makes a virtual environment in .venv, installs the package with the versions in
constraints.txt, and (for ``test``, when run as root on Debian) installs Chromium and the full
Fashion-MNIST with apt-get. It is idempotent: a second run only checks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".minicnn-installed"
EXTRAS = "lab,test"
APT_PACKAGES = {"chromium": Path("/usr/bin/chromium"),
                "dataset-fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}


def say(msg: str) -> None:
    print(f"[course] {msg}", flush=True)


def run(cmd: list[str], **kw) -> int:
    say(" ".join(str(c) for c in cmd))
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def install_fingerprint() -> str:
    h = hashlib.sha256(EXTRAS.encode())
    for name in ("pyproject.toml", "constraints.txt"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (course.py may run under an old python3)
        sys.exit(f"minicnn needs Python 3.11 or newer; this is {sys.version.split()[0]}. "
                 "Run course.py with a newer python3.")
    if not PYTHON.exists():
        say(f"creating a virtual environment in {VENV.name}/")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    fingerprint = install_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    code = run([PYTHON, "-m", "pip", "install", "--quiet", "-c", "constraints.txt",
                "-e", f".[{EXTRAS}]"])
    if code != 0:
        sys.exit("pip could not install the course's packages (see above). "
                 "Check your connection to PyPI, then run this command again.")
    STAMP.write_text(fingerprint)
    say("set-up done")


def apt_install_missing() -> None:
    """Install Chromium (browser tests) and the full Fashion-MNIST where we may (root, Debian)."""
    missing = [pkg for pkg, path in APT_PACKAGES.items() if not path.exists()]
    if not missing:
        return
    can_apt = shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if not can_apt:
        say(f"not installing {', '.join(missing)} (needs root and apt-get): the browser test "
            "needs Chromium, and the tests of the full data set need dataset-fashion-mnist")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    if run(["apt-get", "install", "-y", "-qq", *missing], env=env) != 0:
        say(f"apt-get could not install {', '.join(missing)}")


def test(extra: list[str]) -> int:
    apt_install_missing()
    code = run([PYTHON, "-m", "ruff", "check", "minicnn", "tests", "solutions", "scripts",
                "benchmarks", "course.py"])
    if code != 0:
        say("ruff found problems (above)")
        return code
    code = run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "tests", "notebooks",
                "--nbval", "--nbval-current-env",
                "--nbval-sanitize-with", "notebooks/sanitize.cfg", *extra])
    if code == 5:
        say("pytest collected no tests: that is a failure, not a pass")
        return 1
    return code


def one_blas_thread() -> None:
    """Ask numpy's OpenBLAS for one thread in what runs from here (JupyterLab's kernels, the
    notebooks, the tests), unless the environment already says otherwise. The course's matrix
    products are small: a second BLAS thread saves little on them, and on a machine whose cores
    are busy its spinning made the plain core's training many times slower. (The fast backend
    splits each batch over two threads of its own, with one BLAS thread each.)"""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, extra = argv[0], argv[1:]
    if command not in {"lab", "test", "notebooks", "setup", "bench"}:
        print(__doc__)
        return 2
    setup()
    if command in {"lab", "test", "notebooks"}:
        one_blas_thread()
    if command == "lab":
        os.chdir(ROOT)
        os.execv(str(BIN / "jupyter"), [str(BIN / "jupyter"), "lab", "notebooks/", *extra])
    if command == "test":
        return test(extra)
    if command == "bench":
        code = run([PYTHON, "-m", "pip", "install", "--quiet", "-c", "constraints.txt",
                    "-e", ".[bench]"])
        return code or run([PYTHON, "benchmarks/compare_torch.py", *extra])
    if command == "notebooks":
        return run([PYTHON, "scripts/run_notebooks.py", *extra])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
