"""The notebooks' shape as a course (issue 3): order, openings, summaries, exercises, figures,
widgets, and how much output nbval is told to ignore. nbval itself re-runs them."""

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.ch01  # until these tests are marked by notebook
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHAPTERS = {
    "01_images_as_arrays": ("images", "ex01"),
    "02_convolution": ("conv", "ex02"),
    "03_output_size": ("shapes", "ex03"),
    "04_relu": ("activations", "ex04"),
    "05_pooling": ("pooling", "ex05"),
    "06_fully_connected_and_loss": ("losses", "ex06"),
    "07_training": ("train", "ex07"),
    "08_hyperparameters": ("network", "ex08"),
    "09_what_the_network_sees": ("plotting", "ex09"),
    "10_after_the_basics": ("batchnorm", "ex10"),
    "11_the_road_to_pytorch": ("torch_bridge", None),
}
WIDGET_CHAPTERS = {"02", "03", "04", "05", "06", "07", "08"}
#: Each notebook's tests carry its chapter's marker (``pytest -m ch05`` checks notebook 05).
BY_CHAPTER = [pytest.param(name, marks=getattr(pytest.mark, f"ch{name[:2]}"))
              for name in CHAPTERS]
ALL_CHAPTERS = [getattr(pytest.mark, f"ch{name[:2]}") for name in CHAPTERS]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _load(name):
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))


def _source(cell):
    return "".join(cell["source"])


def _code(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and _source(c).strip()]


@pytest.mark.parametrize("chapter", [pytest.param(n[:2], marks=m)
                                     for n, m in zip(CHAPTERS, ALL_CHAPTERS, strict=True)])
def test_the_chapters_in_order(chapter):
    """Checked once for each chapter's marker (the list is the same for all of them)."""
    found = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert found == list(CHAPTERS)


@pytest.mark.parametrize("name", BY_CHAPTER)
def test_opening_summary_and_your_turn(name):
    nb = _load(name)
    first = _source(nb["cells"][0])
    assert nb["cells"][0]["cell_type"] == "markdown" and first.startswith("# ")
    assert len(first.split()) > 25, "open with what the learner will be able to do"
    markdown = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"^#+ .*Summary", markdown, re.M | re.I)
    assert re.search(r"^#+ .*Your turn", markdown, re.M | re.I)
    module, exercise = CHAPTERS[name]
    if exercise:
        assert re.search(rf"exercises/{exercise}_\w+\.py", markdown)
        assert any(f'check("{exercise}")' in _source(c) for c in _code(nb))


@pytest.mark.parametrize("name", BY_CHAPTER)
def test_imports_its_module(name):
    module = CHAPTERS[name][0]
    nb = _load(name)
    code = "\n".join(_source(c) for c in _code(nb))
    assert re.search(rf"from minicnn import [^\n]*\b{module}\b|import minicnn\.{module}\b|"
                     rf"from minicnn\.{module} import", code), (name, module)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", BY_CHAPTER)
def test_figures_and_widgets(name):
    nb = _load(name)
    outputs = [o for c in _code(nb) for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "at least one figure"
    if name[:2] in WIDGET_CHAPTERS:
        code = "\n".join(_source(c) for c in _code(nb))
        assert re.search(r"from minicnn(\.widgets)? import [^\n]*widgets|minicnn\.widgets", code)
        assert any(WIDGET_MIME in o.get("data", {}) and
                   "CourseWidget" in "".join(o["data"].get("text/plain", ""))
                   for o in outputs), "a minicnn.widgets widget is displayed"


@pytest.mark.parametrize("name", BY_CHAPTER)
def test_stored_outputs_are_clean(name):
    nb = _load(name)
    code = _code(nb)
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "run top to bottom in one go"
    for cell in code:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", _source(cell)
            text = json.dumps(out.get("text", "")) + json.dumps(out.get("data", {})
                                                                .get("text/plain", ""))
            assert not re.search(r"/(work|root|home|tmp)/", text), "machine path in output"
            assert not re.search(r"\b0x[0-9a-f]{6,}\b", text), "memory address in output"


@pytest.mark.parametrize("name", BY_CHAPTER)
def test_ignored_outputs_are_few_and_backed_by_asserts(name):
    code = _code(_load(name))
    ignored = [i for i, c in enumerate(code)
               if "nbval-ignore-output" in c.get("metadata", {}).get("tags", [])]
    assert len(ignored) * 5 <= len(code), f"{len(ignored)} of {len(code)} cells ignored"
    for i in ignored:
        later = "\n".join(_source(c) for c in code[i:i + 3])
        assert re.search(r"^\s*(assert|np\.testing\.assert)", later, re.M), \
            f"ignored cell {i} has no assertion in it or the next two cells"


CHECK_WORDS = re.compile(r"\bassert\b|np\.testing|for the record|\bpytest\b")


def _is_check_cell(cell) -> bool:
    meta = cell.get("metadata", {})
    hidden = meta.get("jupyter", {})
    return ("check" in meta.get("tags", []) and hidden.get("source_hidden") is True
            and hidden.get("outputs_hidden") is True)


@pytest.mark.parametrize("name", BY_CHAPTER)
def test_checks_for_the_test_run_are_hidden_from_the_learner(name):
    """docs/notebooks.md: an `assert` lives only in a check cell, which JupyterLab shows
    collapsed (``jupyter.source_hidden`` and ``outputs_hidden``), tagged ``check``, printing
    nothing; no visible cell or text talks to the test run."""
    nb = _load(name)
    for i, cell in enumerate(nb["cells"]):
        src = _source(cell)
        if cell["cell_type"] == "markdown":
            assert "for the record" not in src.lower(), f"cell {i}: {src[:80]!r}"
            continue
        if _is_check_cell(cell):
            assert not cell.get("outputs"), f"cell {i}: a check cell prints nothing"
            continue
        assert not CHECK_WORDS.search(src), (
            f"cell {i} shows a check to the learner; move it into a check cell: {src[:120]!r}")


@pytest.mark.parametrize("name", BY_CHAPTER)
def test_the_learner_predicts_before_seeing(name):
    """At least two predict-first tasks (docs/notebooks.md), each answered by the learner's own
    cell and pinned by a hidden check."""
    nb = _load(name)
    code = [_source(c) for c in _code(nb) if not _is_check_cell(c)]
    posed = sum(src.count("Task(") for src in code)
    asked = sum(len(re.findall(r"\.check\(\s*\.\.\.\s*\)", src)) for src in code)
    assert posed >= 2 and asked >= 2, f"{posed} tasks posed, {asked} left for the learner"
