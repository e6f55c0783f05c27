"""``python -m minicnn doctor``: all good here, and each failure it must catch, simulated."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from minicnn import doctor

# Cross-cutting: the doctor checks the set-up every chapter relies on, which chapter 01's
# notebook asks the learner to run, so these tests are filed under ch01.
pytestmark = pytest.mark.ch01

ROOT = Path(__file__).resolve().parents[1]
Usage = namedtuple("Usage", "total used free")


def run_doctor(capsys) -> tuple[int, list[str]]:
    code = doctor.main([])
    return code, capsys.readouterr().out.splitlines()


def line_about(lines: list[str], *words: str) -> str:
    found = [line for line in lines if all(w in line for w in words)]
    assert found, f"no line mentions {words}:\n" + "\n".join(lines)
    return found[0]


def test_everything_is_ok_in_the_course_environment(capsys):
    code, lines = run_doctor(capsys)
    assert code == 0, "\n".join(lines)
    checks = lines[1:-1]
    assert len(checks) == 15
    assert all(line.split()[0] in {"OK", "WARN"} for line in checks), "\n".join(lines)
    assert lines[-1].endswith("0 FAIL")


@pytest.mark.parametrize("command", [
    "import sys, minicnn.doctor as d; sys.exit(d.main())",
    "import sys, minicnn.__main__ as m; sys.exit(m.main(['doctor']))",
])
def test_runs_as_a_command(command, tmp_path):
    done = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 FAIL" in done.stdout


def fake_version(monkeypatch, package: str, version: str | None) -> None:
    """Make the doctor see ``version`` of ``package`` (None: not installed), the rest as is."""
    real = doctor._installed_version
    monkeypatch.setattr(doctor, "_installed_version",
                        lambda name: version if name == package else real(name))


def test_old_numpy_fails_with_the_upgrade_command(capsys, monkeypatch):
    fake_version(monkeypatch, "numpy", "1.20.3")
    code, lines = run_doctor(capsys)
    assert code == 1
    line = line_about(lines, "numpy")
    assert line.startswith("FAIL") and "1.20.3 is too old" in line
    assert "install --upgrade 'numpy>=1.26'" in line


def test_missing_package_fails(capsys, monkeypatch):
    fake_version(monkeypatch, "tqdm", None)
    code, lines = run_doctor(capsys)
    assert code == 1
    assert line_about(lines, "tqdm").startswith("FAIL tqdm is not installed")


def test_old_python_fails():
    result = doctor.check_python((3, 10, 12), ">=3.11")
    assert result.status == doctor.FAIL and "3.10.12 is too old" in result.what
    assert "3.11" in result.fix
    assert doctor.check_python((3, 12, 0), ">=3.11").status == doctor.OK


def test_missing_widgets_extension_fails(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(doctor, "_labextension_dirs", lambda: [tmp_path])
    code, lines = run_doctor(capsys)
    assert code == 1
    line = line_about(lines, "ipywidgets extension")
    assert line.startswith("FAIL") and "--force-reinstall 'jupyterlab_widgets" in line


def test_mismatched_jupyterlab_widgets_fails(monkeypatch):
    fake_version(monkeypatch, "jupyterlab_widgets", "1.1.0")
    result = doctor.check_widgets()
    assert result.status == doctor.FAIL and "1.1.0 does not match" in result.what
    assert "jupyterlab_widgets~=" in result.fix


def test_unwritable_cache_fails(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(doctor, "_writable", lambda folder: False)
    code, lines = run_doctor(capsys)
    assert code == 1
    line = line_about(lines, "data cache")
    assert line.startswith("FAIL") and str(tmp_path / "minicnn") in line
    assert "XDG_CACHE_HOME" in line


@pytest.mark.parametrize("free_mb, status, code", [(10, "FAIL", 1), (150, "WARN", 0),
                                                    (5000, "OK", 0)])
def test_free_disk_space(capsys, monkeypatch, tmp_path, free_mb, status, code):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(doctor.shutil, "disk_usage",
                        lambda path: Usage(10 * 2**30, 0, free_mb * 2**20))
    got, lines = run_doctor(capsys)
    assert got == code
    assert line_about(lines, "MB free").startswith(status)


def test_cache_writability_is_really_tested(tmp_path):
    assert doctor._writable(tmp_path)
    assert not doctor._writable(tmp_path / "missing")


def test_finds_the_full_data_set_where_the_loader_looks(monkeypatch, tmp_path):
    from minicnn import datasets

    for rf in datasets.FASHION_MNIST.files:
        (tmp_path / rf.name).write_bytes(b"")
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path))
    result = doctor.check_dataset()
    assert result.status == doctor.OK and f"found in {tmp_path}" in result.what


def test_only_the_subset_says_how_to_get_the_full_set(monkeypatch):
    monkeypatch.setattr(doctor, "_full_dataset_dir", lambda: None)
    result = doctor.check_dataset()
    assert result.status == doctor.OK
    assert "subset" in result.what and "apt-get install dataset-fashion-mnist" in result.what


def test_missing_subset_fails(monkeypatch, tmp_path):
    from minicnn import datasets

    monkeypatch.setattr(datasets, "SUBSET_DIR", tmp_path)
    result = doctor.check_dataset()
    assert result.status == doctor.FAIL and "reinstall minicnn" in result.fix


def _fake_python(tmp_path: Path, prints: str) -> str:
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\necho {prints}\n")
    script.chmod(0o755)
    return str(script)


def test_kernel_importing_another_minicnn_fails(monkeypatch, tmp_path):
    other = _fake_python(tmp_path, "/elsewhere/minicnn/__init__.py")
    monkeypatch.setattr(doctor, "_kernel_specs", lambda: {
        "python3": {"argv": [other, "-m", "ipykernel_launcher"], "language": "python"}})
    result = doctor.check_kernel()
    assert result.status == doctor.FAIL and "no Jupyter kernel imports" in result.what
    assert "ipykernel install --user" in result.fix


def test_other_kernel_importing_this_minicnn_warns(monkeypatch, tmp_path):
    other = _fake_python(tmp_path, "/elsewhere/minicnn/__init__.py")
    monkeypatch.setattr(doctor, "_kernel_specs", lambda: {
        "python3": {"argv": [other, "-m", "ipykernel_launcher"], "language": "python"},
        "course": {"argv": [sys.executable, "-m", "ipykernel_launcher"], "language": "python"}})
    result = doctor.check_kernel()
    assert result.status == doctor.WARN and "Change Kernel > course" in result.fix


def test_bare_python_kernel_means_the_python_running_jupyter(monkeypatch):
    monkeypatch.setattr(doctor, "_kernel_specs", lambda: {
        "python3": {"argv": ["python", "-m", "ipykernel_launcher"], "language": "python"}})
    assert doctor.check_kernel().status == doctor.OK


def test_wrong_minicnn_for_this_course_folder_fails(monkeypatch, tmp_path):
    (tmp_path / "minicnn").mkdir()
    (tmp_path / "minicnn" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "minicnn"\n')
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    result = doctor.check_minicnn()
    assert result.status == doctor.FAIL and f"course folder you are in ({tmp_path})" in result.what
    assert result.fix == f"cd {tmp_path} && python -m pip install -e ."


def test_minicnn_from_this_repository_is_ok(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctor.check_minicnn()
    assert result.status == doctor.OK and str(ROOT / "minicnn") in result.what


def test_broken_matplotlib_fails(monkeypatch):
    def broken():
        raise RuntimeError("no Agg")

    monkeypatch.setattr(doctor, "_render_png", broken)
    result = doctor.check_matplotlib()
    assert result.status == doctor.FAIL and "no Agg" in result.what


def test_crashing_check_is_a_fail_not_a_traceback(capsys, monkeypatch):
    def crash():
        raise KeyError("argv")

    monkeypatch.setattr(doctor, "_kernel_specs", crash)
    code, lines = run_doctor(capsys)
    assert code == 1
    assert line_about(lines, "Jupyter kernels").startswith("FAIL cannot list Jupyter kernels")


@pytest.mark.parametrize("version, spec, expected", [
    ("2.4.6", ">=1.26", True), ("1.26.0", ">=1.26", True), ("1.25.9", ">=1.26", False),
    ("3.0.17", "~=3.0.17", True), ("3.1.0", "~=3.0.17", False), ("3.0.16", "~=3.0.17", False),
    ("2.4.0rc1", ">=2.4", True), ("1.5", ">=1.2,<2", True), ("2.0", ">=1.2,<2", False),
    ("4.0.3", "==4.0.*", True), ("4.1.0", "==4.0.*", False), ("1.0", "", True),
])
def test_satisfies(version, spec, expected):
    assert doctor.satisfies(version, spec) is expected


def test_satisfies_rejects_a_bad_spec():
    with pytest.raises(ValueError, match="spec must be"):
        doctor.satisfies("1.0", "at least 1")


def test_requirements_come_from_the_installed_metadata():
    bounds = doctor.requirements()
    assert bounds["numpy"].startswith(">=") and "jupyterlab" in bounds
    assert doctor.requirements("no-such-distribution-xyz") == {}


def test_conda_environment_gets_a_conda_command(monkeypatch, tmp_path):
    (tmp_path / "conda-meta").mkdir()
    monkeypatch.setattr(doctor.sys, "prefix", str(tmp_path))
    assert doctor._install_command("numpy>=1.26").startswith("conda install -c conda-forge")
    monkeypatch.setattr(doctor.sys, "prefix", os.fspath(tmp_path / "venv"))
    assert doctor._install_command("numpy>=1.26").startswith("python -m pip install")


def test_speed_line_says_when_training_uses_one_thread(capsys, monkeypatch):
    from minicnn.fast import threads as _parallel

    assert line_about(run_doctor(capsys)[1], "two threads").startswith("OK")
    monkeypatch.setattr(_parallel, "_pool", None)  # put back as it was afterwards
    monkeypatch.setattr(_parallel, "_checked", False)
    monkeypatch.setattr(_parallel, "_find_blas_setter", lambda: None)
    code, lines = run_doctor(capsys)
    line = line_about(lines, "one thread")
    assert code == 0 and line.startswith("WARN") and "openblas_set_num_threads_local" in line
