"""``python -m minicnn reset``: the learner's file is backed up, the starter comes back from git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from minicnn import reset as reset_module
from minicnn.reset import ResetError, reset

# Cross-cutting: resetting an exercise file works the same for every chapter; the tests use
# chapter 02's file, so they are filed under ch02.
pytestmark = [pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
              pytest.mark.ch02]

STARTER = ('def conv2d(image, filters):\n'
           '    """Convolve."""\n'
           '    raise NotImplementedError("Exercise 2.2: conv2d")\n')
LEARNER = "def conv2d(image, filters):\n    return image  # my first try\n"
NOON = 1_790_000_000.0  # a fixed time, so two resets can land in the same second


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=Test", "-c",
                    "user.email=test@example.org", "-c", "commit.gpgsign=false", *args],
                   check=True, capture_output=True)


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A git repository with exercises/ex02_convolution.py committed as the starter."""
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    (exercises / "ex02_convolution.py").write_text(STARTER)
    (exercises / "ex03_output_size.py").write_text("raise NotImplementedError\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "exercises")
    git(tmp_path, "commit", "-q", "-m", "starters")
    return exercises


def test_reset_keeps_a_backup_and_restores_the_starter(course):
    target = course / "ex02_convolution.py"
    target.write_text(LEARNER)
    path, saved, changed = reset("ex02", course, when=NOON)
    assert path == target and changed
    assert target.read_text() == STARTER
    assert saved.parent == course / "backup"
    assert saved.name.startswith("ex02_convolution.") and saved.suffix == ".py"
    assert saved.read_text() == LEARNER


def test_second_reset_keeps_both_backups_even_in_the_same_second(course):
    target = course / "ex02_convolution.py"
    target.write_text(LEARNER)
    _, first, _ = reset("ex02", course, when=NOON)
    target.write_text(LEARNER + "# second try\n")
    _, second, _ = reset("ex02", course, when=NOON)
    assert first != second
    assert first.read_text() == LEARNER
    assert second.read_text() == LEARNER + "# second try\n"
    assert sorted(p.name for p in (course / "backup").iterdir()) == sorted(
        [first.name, second.name])
    assert target.read_text() == STARTER


def test_a_file_that_is_the_starter_is_left_alone(course):
    path, saved, changed = reset("ex02", course)
    assert saved is None and not changed and path.read_text() == STARTER
    assert not (course / "backup").exists()


def test_a_deleted_file_comes_back(course):
    (course / "ex02_convolution.py").unlink()
    path, saved, changed = reset("2", course)
    assert changed and saved is None and path.read_text() == STARTER


@pytest.mark.parametrize("name", ["ex02", "2", "02", "ex02_convolution", "ex02_convolution.py"])
def test_names_of_an_exercise(course, name):
    assert reset_module.find_exercise(course, name).name == "ex02_convolution.py"


def test_unknown_exercise_lists_the_known_ones(course):
    with pytest.raises(ResetError, match=r"'ex09' matches no exercise file.*ex02, ex03"):
        reset("ex09", course)


def test_outside_git_refuses_and_changes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    (exercises / "ex02_convolution.py").write_text(LEARNER)
    code = reset_module.main(["ex02", "--exercises", str(exercises)])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot read the starter ex02_convolution.py from git" in err
    assert "nothing was changed" in err
    assert (exercises / "ex02_convolution.py").read_text() == LEARNER
    assert not (exercises / "backup").exists()


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(ResetError, match="is not a folder"):
        reset("ex02", tmp_path / "nowhere")


def test_default_folder_is_found_from_the_notebooks_folder(course, monkeypatch):
    (course.parent / "notebooks").mkdir()
    monkeypatch.chdir(course.parent / "notebooks")
    (course / "ex02_convolution.py").write_text(LEARNER)
    path, saved, _ = reset("ex02")
    assert path.resolve() == (course / "ex02_convolution.py").resolve()
    assert saved.read_text() == LEARNER


def test_ref_picks_an_older_starter_and_finished_work_is_flagged(course, capsys):
    target = course / "ex02_convolution.py"
    target.write_text(LEARNER)
    git(course.parent, "commit", "-q", "-am", "my solution")
    target.write_text(LEARNER + "# more\n")
    assert reset_module.main(["ex02", "--exercises", str(course)]) == 0
    out = capsys.readouterr().out
    assert target.read_text() == LEARNER and "may be finished work" in out
    assert reset_module.main(["ex02", "--exercises", str(course), "--ref", "HEAD~1"]) == 0
    out = capsys.readouterr().out
    assert target.read_text() == STARTER and "is back to the starter" in out
    assert len(list((course / "backup").iterdir())) == 2


def test_command_line_through_python_m_minicnn(course, capsys):
    from minicnn.__main__ import main

    (course / "ex02_convolution.py").write_text(LEARNER)
    assert main(["reset", "ex02", "--exercises", str(course)]) == 0
    out = capsys.readouterr().out
    assert "Your version of ex02_convolution.py is saved as" in out
    assert (course / "ex02_convolution.py").read_text() == STARTER
