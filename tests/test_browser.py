"""Every notebook, run in JupyterLab in a real browser (headless Chromium via Playwright).

One JupyterLab server serves a copy of ``notebooks/`` and ``exercises/`` for the whole session.
For each ``notebooks/NN_*.ipynb`` the test opens it alone, runs all cells, and checks that

- every cell ran and no cell (nor any widget) shows an error;
- every widget view rendered (no "Error displaying widget" or "Loading widget..." left);
- in a notebook with widgets, moving one slider (or picking another dropdown option) of each
  ``minicnn-widget`` changes what that widget displays.

A screenshot of each notebook goes to ``build/screenshots/<name>.png``.

The last tests run the same checks on notebooks broken on purpose (a cell that raises, a
widget that does not respond, a widget whose callback fails) and expect them to fail.

Run only these with ``pytest -m browser``; deselect them with ``-m "not browser"``. Chromium
comes from Debian (``apt-get install chromium``); Playwright cannot download its own here.
Without it the tests are skipped, or fail when the environment variable ``CI`` is set.

Environment variables: ``MINICNN_COURSE_DIR`` a folder with ``notebooks/`` and ``exercises/``
to test instead of this repository; ``MINICNN_SCREENSHOTS`` where the screenshots go;
``MINICNN_BROWSER_TIMEOUT`` seconds to run one notebook (default 120; a notebook whose stored
timings say it needs longer gets twice its recorded time); ``MINICNN_CHROMIUM`` the browser.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LabServer,
    NotebookPage,
    copy_course,
    notebook_facts,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path(os.environ.get("MINICNN_COURSE_DIR", ROOT)).resolve()
SCREENSHOTS = Path(os.environ.get("MINICNN_SCREENSHOTS", ROOT / "build" / "screenshots"))
# Seconds to run one notebook; a notebook whose stored timings say it takes longer (training)
# gets twice its recorded time.
RUN_TIMEOUT = float(os.environ.get("MINICNN_BROWSER_TIMEOUT", "120"))
CHANGE_TIMEOUT = 60.0
WIDGET_VIEWS = ('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]'
                ":has(.widget-slider, .widget-dropdown)")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _notebook_params() -> list:
    params = []
    for path in sorted((SOURCE / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        chapter = int(path.name[:2])
        marks = [getattr(pytest.mark, f"ch{chapter:02d}")] if 1 <= chapter <= 11 else []
        if chapter == 11 and importlib.util.find_spec("torch") is None:
            marks.append(pytest.mark.skip(reason=f"notebooks/{path.name}: skipped, PyTorch is "
                                                 "not installed (pip install -e '.[torch]')"))
        params.append(pytest.param(path.name, marks=marks, id=path.stem))
    return params


NOTEBOOKS = _notebook_params()


def _missing_browser_tools() -> str | None:
    if not CHROMIUM.exists():
        return (f"Chromium is not installed at {CHROMIUM}: install it with "
                "`sudo apt-get install chromium` (Debian/Ubuntu), or run `python3 course.py test` "
                "as root, which installs it")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("Playwright for Python is missing: install the test extras with "
                "`pip install -e .[lab,test]` (or run `python3 course.py test`)")
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright, shared by every notebook."""
    problem = _missing_browser_tools()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {problem}", pytrace=False)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def lab_server(browser, tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a copy of the course; every process stopped afterwards."""
    work = tmp_path_factory.mktemp("jupyterlab")
    root = copy_course(SOURCE, work / "course")
    server = LabServer(root, work)
    server.start()
    yield server
    left = server.stop()
    assert not left, f"processes of the JupyterLab server still running after stop: {left}"


@pytest.fixture
def open_page(browser, lab_server):
    """``open_page(path)`` gives a NotebookPage for ``path`` in a fresh browser context (not yet
    opened). After the test, every context it made is closed and the kernels are shut down,
    however the test ended."""
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(lab_server.shutdown_kernels)  # last, after the contexts close

        def open_page(path: str) -> NotebookPage:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            cleanup.callback(context.close)
            return NotebookPage(context.new_page(), lab_server, path)

        yield open_page


@pytest.mark.ch01  # cross-cutting: the course set-up of chapter 01
def test_there_are_notebooks_to_open():
    assert NOTEBOOKS, f"no notebooks/[0-9][0-9]_*.ipynb found under {SOURCE}"


@pytest.mark.parametrize("name", NOTEBOOKS)  # each marked with its chapter
def test_notebook_runs_in_jupyterlab(name, open_page):
    facts = notebook_facts(SOURCE / "notebooks" / name)
    nb = open_page(f"notebooks/{name}")
    try:
        nb.open()
        state = nb.run_all(timeout=max(RUN_TIMEOUT, 2 * facts["seconds"]))
        check_no_errors(nb, "after running all cells")
        not_run = [i + 1 for i, count in enumerate(state["counts"]) if count is None]
        assert not not_run, (f"{name}: code cells {not_run} did not run "
                             f"(run-all ended as {state['runAll']!r})\n{nb.describe()}")
        check_widgets_render(nb, name, facts)
        check_controls_change_display(nb, name, facts, CHANGE_TIMEOUT)
    finally:
        nb.screenshot(SCREENSHOTS / f"{Path(name).stem}.png")


def check_no_errors(nb: NotebookPage, when: str) -> None:
    errors = nb.errors()
    assert not errors, (f"{nb.path} shows errors {when}:\n" + "\n".join(errors)
                        + f"\n{nb.describe()}")


def check_widgets_render(nb: NotebookPage, name: str, facts: dict) -> None:
    report = nb.widgets()
    assert not report["problems"], (f"{name}: widget views did not render: "
                                    f"{report['problems']}\n{nb.describe()}")
    assert report["rendered"] == report["views"], (
        f"{name}: only {report['rendered']} of {report['views']} widget views rendered\n"
        f"{nb.describe()}")
    if facts["widgets"]:
        assert report["rendered"] > 0 and report["elements"] > 0, (
            f"{name} stores widget outputs but the page rendered none: {report}\n"
            "Is the jupyterlab_widgets extension installed? (`python -m minicnn doctor`)")


def check_controls_change_display(nb: NotebookPage, name: str, facts: dict,
                                  timeout: float) -> None:
    boxes = nb.minicnn_widgets()
    if boxes.count() == 0 and facts["controls"]:
        boxes = nb.page.locator(WIDGET_VIEWS)  # widgets built without minicnn.widgets
    if boxes.count() == 0:
        assert not facts["controls"], (f"{name} stores sliders or dropdowns but none is on "
                                       f"the page\n{nb.describe()}")
        return
    operated = []
    for k in range(boxes.count()):
        box = boxes.nth(k)
        before = nb.display(box)
        assert before, (f"{name}: widget {k + 1} displays nothing (no Output, HTML, Label or "
                        "image next to its controls)")
        action = nb.operate(box)
        if action is None:
            continue
        assert nb.wait_changed(box, before, timeout), (
            f"{name}: widget {k + 1}: {action}, but what it displays did not change within "
            f"{timeout:.0f} s\n{nb.describe()}")
        operated.append(action)
        check_no_errors(nb, f"after operating widget {k + 1} ({action})")
    assert operated, f"{name}: no widget has a slider or dropdown that could be operated"


# --- the checks above must be able to fail: run them on notebooks that are broken on purpose --

SLIDER_SETUP = """import ipywidgets as widgets
slider = widgets.IntSlider(value=1, min=1, max=5, description="n")
shown = widgets.Output()
with shown:
    print("n is 1")
"""


def _write_notebook(root: Path, name: str, sources: list[str]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    (root / "notebooks").mkdir(exist_ok=True)
    nbformat.write(nb, root / "notebooks" / name)
    return f"notebooks/{name}"


def _open_and_run(open_page, lab_server, sources: list[str], name: str):
    nb = open_page(_write_notebook(lab_server.root, name, sources))
    nb.open()
    return nb, nb.run_all(timeout=RUN_TIMEOUT)


@pytest.mark.ch01  # cross-cutting: the browser checks themselves
def test_checks_catch_a_cell_that_raises(lab_server, open_page):
    sources = ["x = 1", "1 / 0", "print('never runs')"]
    nb, state = _open_and_run(open_page, lab_server, sources, "selftest_raises.ipynb")
    with pytest.raises(AssertionError, match="cell 2: ZeroDivisionError"):
        check_no_errors(nb, "after running all cells")
    assert state["counts"][0] is not None and state["counts"][2] is None


@pytest.mark.ch01  # cross-cutting: the browser checks themselves
@pytest.mark.parametrize("callback, expected", [
    # The slider is not wired to anything: moving it changes nothing on display.
    ("pass", "did not change"),
    # The callback fails: the traceback shows inside the widget's Output.
    ("with shown:\n        shown.clear_output()\n        raise ValueError('broken widget')",
     "(?s)inside a widget.*ValueError: broken widget"),
], ids=["display-unchanged", "callback-raises"])
def test_checks_catch_a_broken_widget(lab_server, open_page, callback, expected):
    widget = (SLIDER_SETUP + f"def update(change):\n    {callback}\n"
              "slider.observe(update, names='value')\n"
              "box = widgets.VBox([slider, shown])\nbox.add_class('minicnn-widget')\nbox")
    name = f"selftest_widget_{len(callback)}.ipynb"
    nb, _ = _open_and_run(open_page, lab_server, [widget], name)
    check_no_errors(nb, "after running all cells")
    check_widgets_render(nb, name, {"widgets": True})
    with pytest.raises(AssertionError, match=expected):
        check_controls_change_display(nb, name, {"controls": True}, timeout=5)
