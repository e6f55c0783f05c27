"""environment.yml (conda, Binder) must list what pyproject.toml lists, with the same bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from minicnn._versions import normalise

# Cross-cutting: the installation every chapter relies on (set up before chapter 01), so these
# tests are filed under ch01.
pytestmark = pytest.mark.ch01

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("lab", "test")  # what course.py installs; "bench" (PyTorch) stays out of conda
# conda-forge names that differ from the PyPI distribution they provide
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib", "playwright-python": "playwright"}
NOT_PACKAGES = {"python", "pip"}
SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*$")


def parse(spec: str) -> tuple[str, str]:
    """``"numpy>=1.26"`` -> ``("numpy", ">=1.26")`` (markers after ``;`` dropped)."""
    match = SPEC.match(spec.split(";")[0])
    if not match:
        raise ValueError(f"cannot read the requirement {spec!r}")
    return normalise(match.group(1)), match.group(2).replace(" ", "")


def lower_bound(constraint: str) -> str | None:
    """The version after ``>=`` (or ``==``) in ``constraint``, None when there is none."""
    match = re.search(r"(?:>=|==)\s*([0-9][0-9A-Za-z.]*)", constraint)
    return match.group(1) if match else None


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pip_requirements(pyproject) -> dict[str, str]:
    specs = list(pyproject["dependencies"])
    for extra in EXTRAS:
        specs += pyproject["optional-dependencies"][extra]
    return dict(parse(spec) for spec in specs)


@pytest.fixture(scope="module")
def conda_requirements(environment) -> dict[str, str]:
    found = {}
    for dep in environment["dependencies"]:
        if isinstance(dep, str):
            name, constraint = parse(dep)
            found[normalise(CONDA_TO_PYPI.get(name, name))] = constraint
    return found


def conda_pip_section(environment) -> list[str]:
    sections = [dep["pip"] for dep in environment["dependencies"] if isinstance(dep, dict)]
    return [line for section in sections for line in section]


def test_parse_reads_names_bounds_and_markers():
    assert parse('jupyterlab>=4.2; extra == "lab"') == ("jupyterlab", ">=4.2")
    assert parse("Jupyter_Server [test] >= 2.0") == ("jupyter-server", ">=2.0")
    assert lower_bound(">=1.26,<3") == "1.26" and lower_bound("") is None


def test_conda_lists_the_same_packages_as_pyproject(pip_requirements, conda_requirements):
    conda = set(conda_requirements) - NOT_PACKAGES
    pip = set(pip_requirements)
    assert conda == pip, (f"only in environment.yml: {sorted(conda - pip)}; "
                          f"only in pyproject.toml (dependencies + extras {EXTRAS}): "
                          f"{sorted(pip - conda)}")


def test_lower_bounds_agree(pip_requirements, conda_requirements):
    differ = {name: (pip_requirements[name], conda_requirements.get(name))
              for name in pip_requirements
              if lower_bound(pip_requirements[name]) != lower_bound(
                  conda_requirements.get(name, ""))}
    assert not differ, f"lower bounds differ (pyproject, environment.yml): {differ}"


def test_python_is_pinned_to_a_minor_version_pyproject_admits(pyproject, conda_requirements):
    pin = conda_requirements.get("python", "")
    match = re.fullmatch(r"=?=?(\d+)\.(\d+)(?:\.\*)?", pin)
    assert match, f"pin python to a minor version in environment.yml (python=3.11), got {pin!r}"
    pinned = (int(match.group(1)), int(match.group(2)))
    floor = version_tuple(lower_bound(pyproject["requires-python"]) or "0")
    assert pinned >= floor[:2], (f"environment.yml pins python {pinned}, below pyproject's "
                                 f"requires-python {pyproject['requires-python']!r}")
    ceiling = re.search(r"<\s*([0-9.]+)", pyproject["requires-python"])
    if ceiling:
        assert pinned < version_tuple(ceiling.group(1))[:2]


def test_the_package_itself_comes_from_this_repository(environment):
    pip_lines = [line.replace(" ", "") for line in conda_pip_section(environment)]
    assert "-e." in pip_lines or "." in pip_lines, (
        "environment.yml must install minicnn from the repository: add `- pip: [-e .]`")
    assert "pip" in {parse(dep)[0] for dep in environment["dependencies"]
                     if isinstance(dep, str)}, "list pip itself when using a pip: section"


def test_channel_is_conda_forge(environment):
    assert environment["channels"][0] == "conda-forge"

