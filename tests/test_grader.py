"""The grader: full marks for the solutions, zero for the starters, named mistakes, robustness
against broken and dishonest submissions, the JSON/CSV outputs and the notebook check.

The expensive grading runs happen once, in module-scoped fixtures, and the tests read them.
Each test is marked with the chapter whose exercises it checks. Tests of the grader's own
machinery (sandbox, command line, robustness) are cross-cutting: they are marked ch01, the
chapter whose notebook first calls ``check``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from minicnn.grade import EXERCISES, MODULES, TOTAL_POINTS, check, grade_submission, static
from minicnn.grade.chapters.ch02_convolution import conv2d, correlate
from minicnn.grade.chapters.ch05_pooling import max_pool_backward
from minicnn.grade.core import grade_functions

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
MISTAKE_FILES = sorted((FIXTURES / "mistakes").glob("*/*.py"))
STYLE_DIRS = sorted(p for p in (FIXTURES / "styles").iterdir() if p.is_dir())
FUNCTIONS = [ex.function for ex in EXERCISES]
TOTAL = f"{TOTAL_POINTS:g}"
# Named by the generic judge, not by a chapter's catalogue: their feedback is a fact, not a guess.
JUDGE_MISTAKES = {"returned_none", "error_not_named"}


def chapter(module: str):
    """The marker of the chapter an exercise module belongs to: ex05_pooling -> ch05."""
    return getattr(pytest.mark, f"ch{module[2:4]}")


def by_chapter(values, module_of, ids=None):
    """pytest.param for each value, marked with its chapter."""
    return [pytest.param(v, marks=chapter(module_of(v)), id=None if ids is None else ids(v))
            for v in values]


def chapter_points(module: str) -> float:
    return sum(ex.points for ex in EXERCISES if ex.module == module)


def tree_hash(*folders: Path) -> str:
    """A hash of every file's path and bytes (caches left out)."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            h.update(str(path.relative_to(REPO if REPO in path.parents else folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def assemble(name: str, dest: Path) -> Path:
    """solutions/ with the fixture folder's files laid over it (``*.py.txt`` -> ``*.py``)."""
    folder = dest / name
    shutil.copytree(REPO / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    for f in sorted((FIXTURES / name).iterdir()):
        text = f.read_text().replace("@REPO@", str(REPO))
        (folder / f.name.removesuffix(".txt")).write_text(text)
    return folder


def mistake_of(path: Path) -> tuple[str, str]:
    """(function, mistake) a fixture stands for: ``<function>__<mistake>[__<variant>].py``."""
    function, mistake = path.stem.split("__")[:2]
    return function, mistake


def grade_mistake(path: Path, dest: Path):
    function, _ = mistake_of(path)
    folder = dest / path.parent.name / path.stem
    folder.mkdir(parents=True)
    shutil.copy(path, folder / f"{path.parent.name}.py")
    return grade_submission(folder, only=f"{path.parent.name}.{function}").results[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Grade everything once: solutions, starters, robust, cheats, every mistake fixture."""
    tmp = tmp_path_factory.mktemp("grading")
    watched = (REPO / "solutions", REPO / "exercises", FIXTURES)
    before = tree_hash(*watched)
    robust, cheats = assemble("robust", tmp), assemble("cheats", tmp)
    submissions_before = {p.name: tree_hash(p) for p in (robust, cheats)}
    out = {"solutions": grade_submission(REPO / "solutions"),
           "exercises": grade_submission(REPO / "exercises"), "cheats": grade_submission(cheats)}
    start = time.monotonic()
    out["robust"] = grade_submission(robust)
    out["robust_seconds"] = time.monotonic() - start
    with ThreadPoolExecutor(max_workers=2) as pool:
        out["mistakes"] = dict(zip(MISTAKE_FILES, pool.map(
            lambda p: grade_mistake(p, tmp / "mistakes"), MISTAKE_FILES), strict=True))
        out["styles"] = dict(zip(STYLE_DIRS, pool.map(
            lambda d: grade_submission(d, only=sorted(p.stem for p in d.glob("*.py"))),
            STYLE_DIRS), strict=True))
    out["hash_before"], out["hash_after"] = before, tree_hash(*watched)
    out["submissions_before"] = submissions_before
    out["submissions_after"] = {p.name: tree_hash(p) for p in (robust, cheats)}
    out["robust_files"] = sorted(p.name for p in robust.iterdir())
    return out


# ---------------------------------------------------------------------------- whole folders
@pytest.mark.ch01  # cross-cutting: the totals of every chapter
def test_totals_come_from_the_chapter_files(runs):
    sub = runs["solutions"]
    assert [r.function for r in sub.results] == FUNCTIONS
    assert TOTAL_POINTS == sum(chapter_points(m) for m in MODULES) > 0
    assert sub.score == sub.max_score == TOTAL_POINTS
    assert runs["exercises"].max_score == TOTAL_POINTS


@pytest.mark.parametrize("module", by_chapter(MODULES, str))
def test_solutions_score_full_marks(runs, module):
    results = [r for r in runs["solutions"].results if r.exercise == module]
    assert [r.function for r in results] == [ex.function for ex in EXERCISES
                                             if ex.module == module]
    assert sum(r.points for r in results) == chapter_points(module)
    for r in results:
        assert r.passed and r.status == "passed", f"{r.function}: {r.feedback}"


@pytest.mark.ch01  # cross-cutting: the grader's speed targets live in a benchmark script
def test_the_grading_benchmark_times_one_submission_and_a_class(capsys):
    """benchmarks/grading_time.py holds the targets (2 s a submission, 60 s a class of 40);
    here it runs on a class of 2, so the script itself cannot rot."""
    spec = importlib.util.spec_from_file_location("grading_time",
                                                  REPO / "benchmarks" / "grading_time.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--class-size", "2", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"one submission \(solutions/\): \d+\.\d\d s best", out), out
    assert re.search(r"class of 2: \d+\.\d s  \(\d+\.\d s per 40; target 60 s\)", out), out


@pytest.mark.parametrize("module", by_chapter(MODULES, str))
def test_starters_score_zero_without_grader_errors(runs, module):
    results = [r for r in runs["exercises"].results if r.exercise == module]
    assert results and sum(r.points for r in results) == 0
    for r in results:
        assert r.status == "not implemented", f"{r.function}: {r.feedback}"
        assert f'NotImplementedError("Exercise {r.number}: {r.function}")' in r.feedback


@pytest.mark.ch01  # cross-cutting: the sandbox
def test_grading_changes_nothing(runs):
    assert runs["hash_after"] == runs["hash_before"]
    assert runs["submissions_after"] == runs["submissions_before"]
    # the robust fixture writes files next to itself and in its cwd: only in the copy
    assert "written_by_submission.txt" not in runs["robust_files"]
    assert "written_to_cwd.txt" not in runs["robust_files"]


# ---------------------------------------------------------------------------- mistakes
@pytest.mark.parametrize("path", by_chapter(MISTAKE_FILES, lambda p: p.parent.name,
                                            ids=lambda p: p.stem))
def test_mistake_is_named(runs, path):
    result = runs["mistakes"][path]
    _, mistake = mistake_of(path)
    assert not result.passed
    assert mistake in result.mistakes, result.feedback
    assert "likely mistake" in result.feedback or mistake in JUDGE_MISTAKES or \
        mistake.startswith("changed_"), result.feedback


@pytest.mark.parametrize("module", by_chapter(MODULES, str))
def test_every_catalogued_mistake_has_a_fixture(module):
    have = {mistake_of(p) for p in MISTAKE_FILES if p.parent.name == module}
    wanted = {(ex.function, m.key) for ex in EXERCISES if ex.module == module
              for m in ex.mistakes}
    assert wanted <= have, sorted(wanted - have)
    functions = {ex.function for ex in EXERCISES if ex.module == module}
    assert {f for f, _ in have} <= functions, "a fixture names a function nobody grades"


@pytest.mark.parametrize("folder", by_chapter(STYLE_DIRS, lambda d: "ex01",
                                              ids=lambda d: d.name))
def test_correct_code_in_any_style_scores_full_marks(runs, folder):
    """einsum, stride tricks, im2col, log-sum-exp, zero-and-copy padding, per-window argmax,
    plain loops over lists: the checks judge the answers, not the way to them."""
    sub = runs["styles"][folder]
    for r in sub.results:
        assert r.passed and r.points == r.max_points, f"{folder.name} {r.function}: " \
            f"{r.feedback}"


@pytest.mark.ch01  # cross-cutting: every fixture
def test_catch_rate_and_named_rate_are_complete(runs, capsys):
    """Every fixture graded: each mistake caught (not full marks) and named, each correct
    style at full marks, each cheat at 0, the broken and dishonest folders graded."""
    mistakes = runs["mistakes"]
    caught = [p for p, r in mistakes.items() if not r.passed and r.points < r.max_points]
    named = [p for p, r in mistakes.items() if mistake_of(p)[1] in r.mistakes]
    styles = [r for sub in runs["styles"].values() for r in sub.results]
    full = [r for r in styles if r.passed]
    cheats = [r for r in runs["cheats"].results if r.function in {
        "convolve", "conv2d", "output_size", "relu", "relu_backward", "softmax",
        "softmax_cross_entropy_grad"}]
    stopped = [r for r in cheats if r.points == 0]
    robust = [r for r in runs["robust"].results if r.status != "passed"]
    with capsys.disabled():
        print(f"\nmistakes: {len(caught)}/{len(mistakes)} caught, {len(named)}/{len(mistakes)} "
              f"named; styles: {len(full)}/{len(styles)} full marks; cheats: "
              f"{len(stopped)}/{len(cheats)} at 0; robust: {len(robust)} broken functions "
              "graded without a grader error")
    assert len(caught) == len(named) == len(mistakes)
    assert len(full) == len(styles) and len(stopped) == len(cheats)


PHRASES = {"flipped": "ex02", "stride": "ex02", "one row and one column too small": "ex02",
           "channels-first": "ex02", "channel axis too": "ex02", "padding is ignored": "ex02",
           "does not tile": "ex02", "leaky": "ex04", "in place": "ex04", "average": "ex05",
           "spread evenly": "ex05", "overflows": "ex06", "each row": "ex06",
           "sum over the samples": "ex06", "not divided by N": "ex06",
           "bias is missing": "ex06", "only makes the name p point": "ex07",
           "shared by the whole batch": "ex07", "luminance": "ex01"}


@pytest.mark.parametrize("phrase", by_chapter(PHRASES, PHRASES.get))
def test_issue_mistakes_have_plain_feedback(runs, phrase):
    """The mistakes the issue lists are explained in words a learner recognises."""
    assert any(phrase in r.feedback for p, r in runs["mistakes"].items()
               if p.parent.name.startswith(PHRASES[phrase])), phrase


@pytest.mark.ch02
def test_stride_that_does_not_tile_must_raise_naming_it(runs):
    """Chapter 02's functions refuse what chapter 03's output_size refuses, naming `stride`."""
    for function in ("convolve", "conv2d"):
        path = FIXTURES / "mistakes" / "ex02_convolution" / f"{function}__no_error_not_tiling.py"
        result = runs["mistakes"][path]
        assert result.mistakes == ["no_error_not_tiling"], result.feedback
        assert "stride" in result.feedback and 0 < result.points < result.max_points
    unnamed = runs["mistakes"][FIXTURES / "mistakes" / "ex02_convolution" /
                               "convolve__error_not_named.py"]
    assert "does not name the argument `stride`" in unnamed.feedback, unnamed.feedback


@pytest.mark.ch07
def test_conv_backward_gives_credit_for_the_right_outputs(runs):
    """dx, dw and db are judged separately: a wrong db alone costs only db's share."""
    path = FIXTURES / "mistakes" / "ex07_training" / "conv_backward__db_per_sample.py"
    result = runs["mistakes"][path]
    ex = next(e for e in EXERCISES if e.function == "conv_backward")
    assert result.points == pytest.approx(ex.points * (1 - ex.part_credit[2]))
    lines = result.feedback.split("\n")
    assert lines[0] == "dx and dw are right; db is not:", result.feedback
    assert lines[1].startswith("dx (1.2 of 3 points): passed all")
    assert lines[2].startswith("dw (1.2 of 3 points): passed all")
    assert lines[3].startswith("db (0.6 of 3 points): 0 of") and "db_per_sample" not in lines[1]


@pytest.mark.ch07
@pytest.mark.parametrize("mistake, part", [("kernel_not_rotated", "dx"), ("not_cropped", "dx"),
                                           ("dw_swapped", "dw"), ("db_per_position", "db")])
def test_conv_backward_names_the_mistake_on_the_wrong_part_only(runs, mistake, part):
    """Each part is its own check: a mistake in one part leaves the others full marks."""
    result = runs["mistakes"][FIXTURES / "mistakes" / "ex07_training" /
                              f"conv_backward__{mistake}.py"]
    lines = {line.split(" ", 1)[0]: line for line in result.feedback.split("\n")[1:]}
    assert result.mistakes == [mistake], result.feedback
    for name, line in lines.items():
        assert ("passed all" in line) == (name != part), result.feedback


@pytest.mark.ch03
def test_non_integer_output_size_is_named(runs):
    result = runs["mistakes"][FIXTURES / "mistakes" / "ex03_output_size" /
                              "output_size__no_error_non_integer.py"]
    assert "does not tile" in result.feedback and 0 < result.points < 1


# ---------------------------------------------------------------------------- robustness
@pytest.mark.ch01  # cross-cutting: the sandbox
def test_robust_submission_costs_only_the_broken_functions(runs):
    sub = runs["robust"]
    status = {r.function: r.status for r in sub.results}
    feedback = {r.function: r.feedback for r in sub.results}
    assert status["to_grayscale"] == "error" and "MemoryError" in feedback["to_grayscale"]
    assert status["convolve"] == "forbidden" and "scipy" in feedback["convolve"]
    assert status["output_size"] == "error" and "SystemExit" in feedback["output_size"]
    assert status["relu"] == "timeout" and "did not return" in feedback["relu"]
    for name in ("max_pool", "max_pool_backward"):
        assert status[name] == "error" and "exit code 3" in feedback[name]
    for name in ("dense_forward", "softmax", "cross_entropy", "softmax_cross_entropy_grad"):
        assert "SyntaxError" in feedback[name] and "line 6" in feedback[name]
    assert "out of memory" in feedback["conv_backward"]
    for name in ("conv2d", "relu_backward", "sgd_step"):  # graded although neighbours broke
        assert status[name] == "passed", feedback[name]
    # 7 modules, one 4 s time-out: far below the 60 s budget of requirement 7
    assert runs["robust_seconds"] < 60


@pytest.mark.ch01  # cross-cutting: the sandbox
def test_borrowed_answers_score_zero_with_the_reason(runs):
    sub = runs["cheats"]
    why = {r.function: r.feedback for r in sub.results if r.status == "forbidden"}
    assert set(why) == {"convolve", "conv2d", "output_size", "relu_backward", "softmax",
                        "softmax_cross_entropy_grad"}
    relu = sub.result("relu")  # it reads solutions/ when imported: the sandbox refuses
    assert relu.points == 0 and "outside its own folder" in relu.feedback
    assert "solutions" in relu.feedback
    assert "np.correlate" in why["convolve"]
    assert "scipy" in why["conv2d"] and "scipy" in why["softmax"]
    assert "minicnn" in why["output_size"]
    assert "solutions" in why["relu_backward"]
    for r in sub.results:
        assert r.points == (0 if r.function in why | {"relu": ""} else r.max_points), r.feedback


@pytest.mark.ch01  # cross-cutting: the sandbox
@pytest.mark.slow
def test_endless_loops_everywhere_stay_within_the_budget():
    start = time.monotonic()
    sub = grade_submission(FIXTURES / "endless")
    elapsed = time.monotonic() - start
    assert all(r.status == "timeout" for r in sub.results)
    assert sub.score == 0
    assert elapsed < 60, f"grading took {elapsed:.0f} s"


@pytest.mark.ch04
def test_a_time_out_names_the_case_and_keeps_the_credit_before_it(tmp_path):
    """relu hangs on 4-D inputs only: the two cases before the first one keep their credit."""
    (tmp_path / "ex04_relu.py").write_text(
        "import numpy as np\n\ndef relu(x):\n    while x.ndim == 4:\n        pass\n"
        "    return np.maximum(x, 0)\n")
    result = grade_submission(tmp_path, only="ex04_relu.relu").results[0]
    ex = next(e for e in EXERCISES if e.function == "relu")
    hung = next(k for k, c in enumerate(ex.cases) if c.args[0].ndim == 4)
    assert result.status == "timeout", result.feedback
    assert ex.cases[hung].label in result.feedback and "did not return" in result.feedback
    assert f"{hung} of the {hung} checks before it passed" in result.feedback
    assert result.points == pytest.approx(round(ex.points * hung / len(ex.cases), 2))


@pytest.mark.ch02
def test_unnamed_wrong_values_say_where_and_what_the_input_has(tmp_path):
    """A mistake the catalogue does not know: the input in words, the first wrong value,
    and what the failing inputs share (here: a stride of 3)."""
    (tmp_path / "ex02_convolution.py").write_text(
        (REPO / "solutions" / "ex02_convolution.py").read_text().replace(
            "out[i, j] = np.sum(window * w)",
            "out[i, j] = np.sum(window * w) + (stride == 3)"))
    result = grade_submission(tmp_path, only="ex02_convolution.convolve").results[0]
    assert not result.passed and not result.mistakes, result.feedback
    assert "stride=3" in result.feedback and "values are wrong; the first is at index" in \
        result.feedback
    hint = result.feedback.split("Hint: ")[1]
    assert hint.startswith("every failing check has") and (
        "stride=3" in hint or "stride of 3" in hint), result.feedback


@pytest.mark.ch06
def test_an_error_raised_names_the_input_first(tmp_path):
    """Never a bare numpy error: which input, then the error type and message."""
    (tmp_path / "ex06_dense_and_loss.py").write_text(
        "import numpy as np\n\ndef dense_forward(x, w, b):\n"
        "    return np.dot(w, x) + b, (x, w, b)\n")
    result = grade_submission(tmp_path, only="ex06_dense_and_loss.dense_forward").results[0]
    assert "With x (4, 5), w (5, 3), b (3,): your function raised an error on this input: " \
        "ValueError: shapes (5,3) and (4,5) not aligned" in result.feedback, result.feedback
    assert "ex06_dense_and_loss.py, line 4" in result.feedback


@pytest.mark.ch04
def test_missing_files_and_functions(tmp_path):
    (tmp_path / "ex04_relu.py").write_text("def relu(x):\n    return x * (x > 0)\n")
    sub = grade_submission(tmp_path, only=["ex04", "ex05"])
    status = {r.function: r.status for r in sub.results}
    assert status == {"relu": "passed", "relu_backward": "missing", "max_pool": "missing",
                      "max_pool_backward": "missing"}


# ---------------------------------------------------------------------------- static scan
@pytest.mark.ch02
def test_static_scan_allows_plain_numpy():
    source = ("import numpy as np\nfrom numpy.lib.stride_tricks import sliding_window_view\n"
              "def convolve(x, w, stride=1, padding=0):\n"
              "    xp = np.pad(x, padding)\n"
              "    v = sliding_window_view(xp, w.shape)[::stride, ::stride]\n"
              "    return np.einsum('ijkl,kl->ij', v, w)\n")
    assert static.scan(source, {"convolve": True}) == {}


@pytest.mark.ch02
def test_static_scan_follows_helpers_and_aliases():
    source = ("import numpy as numeric\nfrom scipy import signal as sg\n"
              "def _helper(a, k):\n    return sg.correlate2d(a, k, 'valid')\n"
              "def convolve(x, w, stride=1, padding=0):\n"
              "    return _helper(x, w)\n"
              "def conv2d(x, w, stride=1, padding=0):\n"
              "    return numeric.convolve(x.ravel(), w.ravel())\n"
              "def relu(x):\n    return numeric.convolve(x, x)\n")
    found = static.scan(source, {"convolve": True, "conv2d": True, "relu": False})
    assert "through `_helper`" in found["convolve"] and "scipy" in found["convolve"]
    assert "numeric.convolve" in found["conv2d"]
    assert "relu" not in found  # np.convolve is only banned where it does the exercise


# ---------------------------------------------------------------------------- reference
@pytest.mark.ch02
def test_reference_convolution_by_hand():
    image = np.arange(16, dtype=float).reshape(4, 4)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_allclose(correlate(image, kernel), np.full((3, 3), -5.0), atol=1e-12)
    np.testing.assert_allclose(correlate(image, kernel, stride=2, padding=1),
                               [[-0.0, -2.0, 0.0], [-8.0, -5.0, 7.0], [0.0, 13.0, 15.0]],
                               atol=1e-12)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(5, 6, 2)), rng.normal(size=(3, 3, 3, 2))
    expected = sum(correlate(x[:, :, c], w[1, :, :, c]) for c in range(2))
    np.testing.assert_allclose(conv2d(x, w)[:, :, 1], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="stride=2"):
        correlate(np.zeros((6, 6)), np.ones((3, 3)), stride=2)


@pytest.mark.ch05
def test_reference_pooling_gradient_goes_to_first_maximum():
    x = np.array([[1.0, 3.0], [3.0, 0.0]])
    np.testing.assert_allclose(max_pool_backward(np.array([[2.0]]), (x, 2, 2)),
                               [[0, 2], [0, 0]])


# ---------------------------------------------------------------------------- the package
# Each exercise stands for a package function with the same name, signature and argument
# names; the same checks grade it. Where the package's function lives (first module that has it).
PACKAGE = {
    "ex01_images.to_grayscale": ("minicnn.images",),
    "ex02_convolution.convolve": ("minicnn.conv",),
    "ex02_convolution.conv2d": ("minicnn.conv",),
    "ex03_output_size.output_size": ("minicnn.shapes",),
    "ex04_relu.relu": ("minicnn.activations",),
    "ex04_relu.relu_backward": ("minicnn.activations",),
    "ex05_pooling.max_pool": ("minicnn.pooling",),
    "ex05_pooling.max_pool_backward": ("minicnn.pooling",),
    "ex06_dense_and_loss.dense_forward": ("minicnn.dense", "minicnn.layers"),
    "ex06_dense_and_loss.dense_backward": ("minicnn.dense",),
    "ex06_dense_and_loss.softmax": ("minicnn.losses",),
    "ex06_dense_and_loss.cross_entropy": ("minicnn.losses",),
    "ex06_dense_and_loss.softmax_cross_entropy_grad": ("minicnn.losses",),
    "ex07_training.conv_backward": ("minicnn.conv",),
    "ex07_training.sgd_step": ("minicnn.optim",),
    "ex08_hyperparameters.count_params": ("minicnn.stacks",),
    "ex08_hyperparameters.receptive_field": ("minicnn.stacks",),
    "ex09_what_the_network_sees.occlude": ("minicnn.pretrained",),
    "ex09_what_the_network_sees.average_drops": ("minicnn.pretrained",),
    "ex10_batchnorm_dropout.batchnorm_forward": ("minicnn.batchnorm",),
    "ex10_batchnorm_dropout.batchnorm_backward": ("minicnn.batchnorm",),
    "ex10_batchnorm_dropout.dropout_forward": ("minicnn.dropout",),
}


def _pool_cache_is_the_exercises():
    from minicnn.pooling import max_pool_forward

    x = np.arange(16.0).reshape(1, 4, 4, 1)
    cache = max_pool_forward(x, 2, 2)[1]
    return len(cache) == 3 and np.array_equal(cache[0], x) and tuple(cache[1:]) == (2, 2)


def _conv_cache_is_the_exercises():
    from minicnn.conv import conv_forward

    x, w, b = np.ones((1, 3, 3, 1)), np.ones((2, 2, 2, 1)), np.zeros(2)
    cache = conv_forward(x, w, b, 1, 0)[1]  # the exercise's five, then the patch matrix
    return (len(cache) in (5, 6) and np.array_equal(cache[0], x) and cache[1] is w
            and cache[2] is b and tuple(cache[3:5]) == (1, 0))


def _dense_cache_is_the_exercises():
    from minicnn.dense import dense_forward

    x, w, b = np.ones((2, 3)), np.ones((3, 2)), np.zeros(2)
    cache = dense_forward(x, w, b)[1]
    return len(cache) == 3 and np.array_equal(cache[0], x) and cache[1] is w and cache[2] is b


def _batchnorm_cache_is_the_exercises():
    from minicnn.batchnorm import batchnorm_forward

    x, gamma = np.array([[-1.0], [1.0]]), np.full(1, 2.0)
    cache = batchnorm_forward(x, gamma, np.zeros(1), np.zeros(1), np.ones(1), True, 0.1, 0.0)[1]
    return (len(cache) == 4 and np.array_equal(cache[0], x) and cache[1] == 1.0
            and cache[2] is gamma and cache[3] is True)


# Functions that take a cache: the package's forward pass must also make the exercise's cache.
CACHE_CHECKS = {"ex05_pooling.max_pool_backward": _pool_cache_is_the_exercises,
                "ex06_dense_and_loss.dense_backward": _dense_cache_is_the_exercises,
                "ex07_training.conv_backward": _conv_cache_is_the_exercises,
                "ex10_batchnorm_dropout.batchnorm_backward": _batchnorm_cache_is_the_exercises}


def package_function(ex):
    """The package's function for an exercise, or None when it has none with the same
    signature (argument names in order, further arguments optional) and cache."""
    for name in PACKAGE[ex.key]:
        try:
            func = getattr(importlib.import_module(name), ex.function, None)
        except ImportError:
            continue
        if func is None:
            continue
        params = list(inspect.signature(func).parameters.values())
        names = tuple(p.name for p in params[:len(ex.arg_names)])
        if names != ex.arg_names or any(p.default is p.empty and p.kind != p.VAR_POSITIONAL
                                        and p.kind != p.VAR_KEYWORD
                                        for p in params[len(ex.arg_names):]):
            return None
        check = CACHE_CHECKS.get(ex.key)
        return func if check is None or check() else None
    return None


@pytest.mark.ch01  # cross-cutting: every chapter's exercise has its package function
def test_every_exercise_names_its_package_function():
    assert set(PACKAGE) == {ex.key for ex in EXERCISES}


@pytest.mark.parametrize("ex", by_chapter(EXERCISES, lambda e: e.module, ids=lambda e: e.key))
def test_package_function_passes_the_same_checks(ex):
    """The checks are implementation-independent: the package's own functions pass them."""
    func = package_function(ex)
    assert func is not None, (f"the package has no {ex.function} with the exercise's "
                              "signature and cache")
    result = grade_functions({ex.key: func}, name="minicnn").results[0]
    assert result.passed and result.points == ex.points, f"{ex.function}: {result.feedback}"


# ---------------------------------------------------------------------------- command line
def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minicnn.grade", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.ch01  # cross-cutting: the command line
def test_cli_json_schema():
    done = cli("solutions", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) >= {"submission", "score", "max_score", "results"}
    assert isinstance(data["submission"], str)
    assert isinstance(data["score"], float) and data["score"] == data["max_score"] == TOTAL_POINTS
    types = {"exercise": str, "function": str, "points": float, "max_points": float,
             "passed": bool, "feedback": str}
    assert [r["function"] for r in data["results"]] == FUNCTIONS
    for result in data["results"]:
        for key, kind in types.items():
            assert isinstance(result[key], kind), (key, result)


@pytest.mark.ch01  # cross-cutting: the command line
def test_cli_csv_gradebook_and_feedback_files(tmp_path):
    book = tmp_path / "grades" / "book.csv"
    done = cli("solutions", "exercises", "--csv", str(book))
    assert done.returncode == 0, done.stderr  # a zero score is still a successful run
    lines = book.read_text().splitlines()
    header = lines[0].split(",")
    assert header[0] == "submission" and header[-2:] == ["total", "max_total"]
    assert len(header) == len(FUNCTIONS) + 3
    rows = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    assert set(rows) == {"solutions", "exercises"}
    assert rows["solutions"][-2] == TOTAL and rows["exercises"][-2] == "0"
    feedback = book.parent / "book-feedback"
    assert f"Score: {TOTAL}/{TOTAL}" in (feedback / "solutions.txt").read_text()
    assert "not implemented" in (feedback / "exercises.txt").read_text()


@pytest.mark.ch01  # cross-cutting: the command line
def test_cli_same_folder_names_get_distinct_rows(tmp_path):
    for who in ("alice", "bob"):
        shutil.copytree(REPO / "exercises", tmp_path / who / "exercises")
    done = cli(str(tmp_path / "alice" / "exercises"), str(tmp_path / "bob" / "exercises"),
               "--only", "ex04", "--csv", str(tmp_path / "book.csv"))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "book-feedback").iterdir())
    assert names == ["alice-exercises.txt", "bob-exercises.txt"]


@pytest.mark.ch01  # cross-cutting: the command line
def test_cli_rejects_a_missing_folder(tmp_path):
    done = cli(str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "not a folder" in done.stderr


@pytest.mark.ch01  # cross-cutting: the command line
def test_cli_skips_stray_files_and_ignores_subfolders(tmp_path):
    (tmp_path / "stray.zip").write_text("not a submission")
    folder = tmp_path / "ada"
    shutil.copytree(REPO / "solutions", folder / "backup")  # a backup/ is not graded
    shutil.copy(REPO / "exercises" / "ex04_relu.py", folder)
    done = cli(str(tmp_path / "stray.zip"), str(folder), "--only", "ex04", "--json")
    assert done.returncode == 0 and "skipping" in done.stderr
    assert json.loads(done.stdout)["score"] == 0


# ---------------------------------------------------------------------------- notebook check
@pytest.mark.parametrize("chapter", by_chapter(sorted({m[:4] for m in MODULES}), str))
def test_check_on_starters_is_short_and_deterministic(capsys, monkeypatch, chapter):
    monkeypatch.chdir(REPO / "notebooks")  # notebooks run there; exercises/ is one level up
    check(chapter)
    first = capsys.readouterr().out
    check(chapter)
    assert capsys.readouterr().out == first
    assert first.startswith(f"Checking exercises/{chapter}_")
    for ex in EXERCISES:
        if ex.module.startswith(chapter):
            assert f"{ex.function}" in first and "not implemented" in first
    assert str(REPO) not in first and "0x" not in first and "Score: 0/" in first


@pytest.mark.ch02
def test_check_on_solutions_says_passed(capsys):
    check(2, path=REPO / "solutions")
    out = capsys.readouterr().out
    points = f"{chapter_points('ex02_convolution'):g}"
    assert out.count("passed") == 2 and f"Score: {points}/{points}" in out


@pytest.mark.ch01  # cross-cutting: the notebook check
def test_check_rejects_an_unknown_chapter():
    with pytest.raises(ValueError, match="ex99"):
        check("ex99", path=REPO / "exercises")


# ---------------------------------------------------------------------------- starter files
@pytest.mark.parametrize("module", by_chapter(MODULES, str))
def test_starters_keep_signature_and_docstring_and_one_marker(module):
    import ast

    def functions(folder: str) -> dict:
        """The public functions (a solution may have private helpers)."""
        tree = ast.parse((REPO / folder / f"{module}.py").read_text())
        return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)
                and not n.name.startswith("_")}

    starter, solution = functions("exercises"), functions("solutions")
    assert set(starter) == set(solution) == {ex.function for ex in EXERCISES
                                             if ex.module == module}
    for name, node in starter.items():
        ex = next(e for e in EXERCISES if e.function == name)
        assert ast.dump(node.args) == ast.dump(solution[name].args)
        assert tuple(a.arg for a in node.args.args) == ex.arg_names
        assert ast.get_docstring(node) == ast.get_docstring(solution[name])
        assert "Returns" in ast.get_docstring(node) and "shape" in ast.get_docstring(node) \
            or name in {"output_size", "sgd_step"}
        body = node.body[1:]
        assert len(body) == 1 and ast.unparse(body[0]) == \
            f"raise NotImplementedError('{ex.marker}')"
