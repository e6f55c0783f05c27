"""Shared test set-up: matplotlib draws off-screen, no figure outlives its test, and every test
says which chapter it checks.

Each test carries a chapter marker (``ch01`` ... ``ch11``), or ``fast`` for the internals of the
fast backend, so that ``pytest -m ch05`` checks one lesson. Notebook cells collected by nbval
get the marker of their notebook's number (``notebooks/05_pooling.ipynb`` -> ``ch05``). A run
that collects a test with neither stops with the list of those tests.
"""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

CHAPTERS = tuple(f"ch{n:02d}" for n in range(1, 12))
SORTED_BY = (*CHAPTERS, "fast")
_NOTEBOOK = re.compile(r"^(\d\d)_.*\.ipynb$")


def _notebook_chapter(item) -> str | None:
    """'ch05' for a cell of notebooks/05_*.ipynb, None for anything else."""
    match = _NOTEBOOK.match(item.path.name)
    return f"ch{match.group(1)}" if match and f"ch{match.group(1)}" in CHAPTERS else None


@pytest.hookimpl(tryfirst=True)  # before -m deselects: notebook cells must be marked by then
def pytest_collection_modifyitems(config, items):
    unmarked = []
    for item in items:
        chapter = _notebook_chapter(item)
        if chapter is not None:
            item.add_marker(getattr(pytest.mark, chapter))
        if not any(item.get_closest_marker(name) for name in SORTED_BY):
            unmarked.append(item.nodeid)
    if unmarked:
        listing = "\n  ".join(unmarked)
        raise pytest.UsageError(
            f"{len(unmarked)} collected test(s) have no chapter marker: mark each test with "
            f"the chapter it checks ({', '.join(CHAPTERS)}; `fast` for the fast backend's "
            "internals), e.g. `pytestmark = pytest.mark.ch05` at the top of the file or "
            f"@pytest.mark.ch05 on the test:\n  {listing}")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def pytest_terminal_summary(terminalreporter):
    """Say plainly when the road-to-PyTorch tests were skipped because PyTorch is absent."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if "PyTorch is not installed" in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(
            "PyTorch is not installed, so the road-to-PyTorch tests (tests/test_torch_bridge.py"
            ") were SKIPPED; install it to run them: pip install 'minicnn[torch]'", yellow=True)
