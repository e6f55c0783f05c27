"""Helpers for the browser test: a JupyterLab server on loopback and a notebook driver.

``tests/test_browser.py`` uses them; they are plain functions and classes so that the test
module reads as a list of checks. The server runs from the current interpreter
(``sys.executable -m jupyter lab``) on a copy of ``notebooks/`` and ``exercises/``, so the
stored outputs of the real notebooks are never touched by JupyterLab's autosave.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

# Debian's Chromium; MINICNN_CHROMIUM may name another Chromium or Chrome binary.
CHROMIUM = Path(os.environ.get("MINICNN_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, and
# this machine's closed network refuses each attempt.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# The folders a notebook may reach: notebooks cd to notebooks/ and read ../exercises (and
# chapter 07 falls back to ../solutions while the exercises are unfinished).
COPIED_FOLDERS = ("notebooks", "exercises", "solutions")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CONTROL_MODELS = ("SliderModel", "DropdownModel")

# JupyterLab settings for the test: every cell attached to the page (so the DOM checks see all
# outputs), start the notebook's kernel without asking, and never fetch news from the internet.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
        "kernelShutdown": True,
        "scrollPastEnd": False,
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_course(src: Path, dest: Path) -> Path:
    """Copy ``COPIED_FOLDERS`` of ``src`` into ``dest`` with the same layout; return ``dest``.

    The copied notebooks lose their stored outputs and execution counts, so that what the
    browser shows afterwards can only come from running them in this session.
    """
    for name in COPIED_FOLDERS:
        if (src / name).is_dir():
            shutil.copytree(src / name, dest / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path in (dest / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        nb.get("metadata", {}).pop("widgets", None)
        path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return dest


def notebook_facts(path: Path) -> dict:
    """What the stored notebook at ``path`` says about its widgets and its running time.

    Returns a dict with ``widgets`` (some output is a widget view), ``controls`` (the
    stored widget state holds a slider or dropdown model) and ``seconds`` (the time its cells
    took when it was last run, from the timings nbclient records; 0 when there are none).
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    seconds = 0.0
    for cell in nb.get("cells", []):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        try:
            seconds += max(0.0, (_when(end) - _when(start)).total_seconds())
        except (TypeError, ValueError):  # no timing, or one in a form we do not read
            pass
    widgets = any(WIDGET_VIEW in output.get("data", {})
                  for cell in nb.get("cells", []) if cell.get("cell_type") == "code"
                  for output in cell.get("outputs", []))
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    controls = any(model.get("model_name", "").endswith(CONTROL_MODELS)
                   for model in state.values())
    return {"widgets": widgets, "controls": controls, "seconds": seconds}


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))


class LabServer:
    """A JupyterLab server serving ``root`` on 127.0.0.1, in its own process group.

    Parameters
    ----------
    root : Path
        The folder JupyterLab serves (a copy of the course).
    work : Path
        A scratch folder for settings, workspaces, runtime files and the server log.
    """

    def __init__(self, root: Path, work: Path) -> None:
        self.root, self.work = root, work
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = work / "jupyterlab.log"
        self.children: set[int] = set()

    def start(self, timeout: float = 60.0) -> None:
        settings = self.work / "settings"
        for rel, values in LAB_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(values), encoding="utf-8")
        cmd = [sys.executable, "-m", "jupyter", "lab",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0",
               "--ServerApp.token=", "--ServerApp.password=",
               # The REST calls that shut kernels down come from this test, not a browser form.
               "--ServerApp.disable_check_xsrf=True",
               "--no-browser", "--allow-root", "--expose-app-in-browser",
               f"--ServerApp.root_dir={self.root}",
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={self.work / 'workspaces'}"]
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.work / "runtime"),
                   PYTHONUNBUFFERED="1")
        # The kernel must show figures inline, whatever the caller's MPLBACKEND says.
        env.pop("MPLBACKEND", None)
        self.log = open(self.log_path, "w", encoding="utf-8")  # closed by stop()
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with status {self.proc.returncode}:\n"
                                   + self.log_text())
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout:.0f} s:\n"
                           + self.log_text())

    def api(self, path: str, method: str = "GET"):
        """Call the server's REST API at ``/api/<path>``; return the decoded JSON or None."""
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def remember_children(self) -> None:
        """Note every process the server started so far (kernels run in their own session)."""
        if self.proc is None:
            return
        try:
            import psutil
        except ImportError:  # psutil comes with ipykernel; without it we trust the group kill
            return
        try:
            self.children |= {p.pid for p in psutil.Process(self.proc.pid).children(True)}
        except psutil.NoSuchProcess:
            pass

    def shutdown_kernels(self) -> None:
        """Shut down every kernel the server runs (closing a tab does not always do it)."""
        self.remember_children()
        for kernel in self.api("kernels") or []:
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def stop(self, timeout: float = 20.0) -> list[int]:
        """Stop the server's process group and every kernel; return pids still alive (none)."""
        if self.proc is None:
            return []
        try:
            self.shutdown_kernels()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        pgid = self.proc.pid  # start_new_session makes the server its group's leader
        _signal_group(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            self.proc.wait(timeout)
        _signal_group(pgid, signal.SIGKILL)  # anything of the group that outlived the server
        for pid in self.children:
            _kill_pid(pid)
        self.log.close()
        self.proc = None
        time.sleep(0.2)
        return [pid for pid in self.children if _alive(pid)] + (
            [pgid] if _group_alive(pgid) else [])

    def log_text(self, last: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-last:]
        except OSError:
            return ""


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _kill_pid(pid: int) -> None:
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    """True when ``pid`` runs and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(0) also succeeds for zombies: look for a live member.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


# --- driving one notebook in the page -------------------------------------------------------

JS_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app ? app.shell.currentWidget : null;
  const dialog = document.querySelector('.jp-Dialog');
  const state = {dialog: dialog ? dialog.innerText.slice(0, 300) : null,
                 runAll: window.__minicnnRunAll || null};
  if (!panel || !panel.content || !panel.sessionContext || !panel.context) return state;
  const session = panel.sessionContext.session;
  state.path = panel.context.path;
  state.ready = panel.context.isReady;
  state.kernel = session && session.kernel ? session.kernel.status : null;
  // An empty code cell never runs: count it as run (0) so that it is not waited for.
  state.counts = panel.content.widgets.filter(c => c.model.type === 'code')
    .map(c => c.model.sharedModel.getSource().trim() ? c.model.executionCount : 0);
  return state;
}"""

JS_RUN_ALL = """() => {
  window.__minicnnRunAll = 'running';
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    ok => { window.__minicnnRunAll = ok === false ? 'stopped' : 'done'; },
    err => { window.__minicnnRunAll = 'failed: ' + err; });
}"""

JS_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const found = [];
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs;
    for (let j = 0; j < outputs.length; j++) {
      const o = outputs.get(j).toJSON();
      if (o.output_type === 'error') {
        found.push(`cell ${i + 1}: ${o.ename}: ${o.evalue}`);
      } else if (o.output_type === 'stream' && o.name === 'stderr') {
        const text = Array.isArray(o.text) ? o.text.join('') : String(o.text);
        if (text.includes('Traceback')) found.push(`cell ${i + 1} (stderr): ${text.slice(-600)}`);
      }
    }
  });
  // Errors shown inside widgets (an Output widget catches a callback's traceback).
  const selector = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  panel.content.node.querySelectorAll(selector).forEach(node => {
    if (!node.closest('.jupyter-widgets')) return;  // cell outputs were read from the model
    const text = node.innerText;
    if (text.includes('Traceback') || /Error\\b/.test(text)) {
      found.push('inside a widget: ' + text.slice(-600));
    }
  });
  return found;
}"""

JS_WIDGETS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const mime = 'application/vnd.jupyter.widget-view+json';
  const broken = /Error displaying widget|Loading widget/;
  const report = {views: 0, rendered: 0, problems: [], elements: 0, minicnn: 0};
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs;
    for (let j = 0; j < outputs.length; j++) {
      const view = outputs.get(j).data[mime];
      if (!view || view.model_id === '') continue;  // no widget, or a widget closed since
      report.views += 1;
      const child = cell.outputArea.widgets[j];
      const text = child ? child.node.textContent : '(no output node)';
      if (broken.test(text)) {
        report.problems.push(`cell ${i + 1}: ${text.trim().slice(0, 200)}`);
      } else if (child && child.node.querySelector('.jupyter-widgets')) {
        report.rendered += 1;
      }
    }
  });
  const node = panel.content.node;
  const left = node.innerText.match(/Error displaying widget[^\\n]*|Loading widget\\.\\.\\./g);
  if (left && !report.problems.length) report.problems.push(...left);
  report.elements = node.querySelectorAll('.jupyter-widgets, [class*="widget-"]').length;
  report.minicnn = node.querySelectorAll('.minicnn-widget').length;
  return report;
}"""

# What a widget displays: its Output, HTML, Label and Image children, not its controls.
JS_DISPLAY = """(box) => {
  const controls = '.widget-slider, .widget-dropdown, .widget-select, .widget-readout';
  const shown = '.widget-output, .widget-html, .widget-htmlmath, div.widget-label, img';
  const parts = [];
  box.querySelectorAll(shown).forEach(e => {
    if (e.closest(controls)) return;
    if (e.parentElement && e.parentElement.closest(shown)) return;  // counted with its parent
    parts.push(e.tagName === 'IMG' ? e.src : e.innerHTML);
  });
  return parts.join('\\n');
}"""

JS_SCROLL_HEIGHT = """() => {
  const app = window.jupyterapp;
  app.shell.collapseLeft();
  app.shell.collapseRight();
  const node = app.shell.currentWidget.content.node;
  const outer = node.querySelector('.jp-WindowedPanel-outer') || node;
  outer.scrollTop = 0;
  return outer.scrollHeight;
}"""


class NotebookPage:
    """One notebook opened in JupyterLab in a Playwright ``page``.

    Parameters
    ----------
    page : playwright.sync_api.Page
        A fresh page.
    server : LabServer
        The running server.
    path : str
        The notebook's path relative to the server's root, e.g. ``notebooks/01_x.ipynb``.
    """

    def __init__(self, page, server: LabServer, path: str) -> None:
        self.page, self.server, self.path = page, server, path
        self.console: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.console.append(msg.text))
        page.on("pageerror", lambda exc: self.console.append(f"page error: {exc}"))

    def state(self) -> dict:
        return self.page.evaluate(JS_STATE)

    def open(self, timeout: float = 60.0) -> None:
        """Open the notebook alone in a fresh workspace and wait for an idle kernel."""
        workspace = Path(self.path).stem.replace(".", "-")
        self.page.goto(f"{self.server.url}/lab/workspaces/{workspace}/tree/{self.path}?reset")
        self._wait(lambda s: s.get("path") == self.path and s.get("ready")
                   and s.get("kernel") == "idle", timeout, "the notebook to open with a kernel")

    def run_all(self, timeout: float = 120.0) -> dict:
        """Run every cell (without awaiting JupyterLab's promise) and wait until it is done.

        Done means the run-all command finished (or stopped at an error) and the kernel is
        idle. Returns the final state; raises TimeoutError with the state when it never is.
        """
        self.page.evaluate(JS_RUN_ALL)
        return self._wait(lambda s: s.get("runAll") not in (None, "running")
                          and s.get("kernel") == "idle", timeout, "all cells to run")

    def errors(self) -> list[str]:
        return self.page.evaluate(JS_ERRORS)

    def widgets(self, timeout: float = 30.0) -> dict:
        """Wait until no widget view is still loading; return what the page shows of widgets."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.page.evaluate(JS_WIDGETS)
            if not report["problems"] or time.monotonic() > deadline:
                return report
            time.sleep(0.5)

    def minicnn_widgets(self):
        return self.page.locator(".minicnn-widget")

    def display(self, box) -> str:
        """What ``box`` (a locator of one ``.minicnn-widget``) displays, as HTML text."""
        return box.evaluate(JS_DISPLAY)

    def operate(self, box) -> str | None:
        """Change one control of ``box``: a slider by the keyboard, else a dropdown.

        Returns a description of what was done, or None when the widget has neither.
        """
        handles = box.locator(".widget-slider .noUi-handle")
        if handles.count():
            handle = handles.first
            handle.scroll_into_view_if_needed()
            before = handle.get_attribute("aria-valuenow")
            handle.focus()
            self.page.keyboard.press("ArrowRight")
            key = "ArrowRight"
            if handle.get_attribute("aria-valuenow") == before:  # already at its maximum
                self.page.keyboard.press("ArrowLeft")
                key = "ArrowLeft"
            return f"slider moved from {before} to {handle.get_attribute('aria-valuenow')} ({key})"
        for select in box.locator(".widget-dropdown select").all():
            options = select.locator("option").all_inner_texts()
            if len(options) < 2:
                continue
            current = select.evaluate("s => s.selectedIndex")
            index = (current + 1) % len(options)
            select.scroll_into_view_if_needed()
            select.select_option(index=index)
            return f"dropdown changed from {options[current]!r} to {options[index]!r}"
        return None

    def wait_changed(self, box, before: str, timeout: float = 60.0) -> bool:
        """Wait until ``box`` displays something other than ``before`` and the kernel is idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.display(box) != before and self.state().get("kernel") == "idle":
                time.sleep(0.3)  # let a figure that is being replaced settle
                return True
            time.sleep(0.3)
        return False

    def screenshot(self, path: Path, width: int = 1280, max_height: int = 16000) -> None:
        """Save the whole notebook, top to bottom, as a PNG at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        original = self.page.viewport_size
        try:
            height = self.page.evaluate(JS_SCROLL_HEIGHT)
            self.page.set_viewport_size({"width": width, "height": min(max_height, height + 160)})
            self.page.wait_for_timeout(500)
            self.page.evaluate(JS_SCROLL_HEIGHT)
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            if original:
                self.page.set_viewport_size(original)

    def describe(self) -> str:
        """The page's state, console errors and the server log, for failure messages."""
        try:
            state = self.state()
        except Exception as exc:  # the page itself may be gone
            state = f"(page unavailable: {exc})"
        console = "\n".join(self.console[-10:]) or "(none)"
        return (f"state: {state}\nbrowser console errors:\n{console}\n"
                f"JupyterLab log (end):\n{self.server.log_text(1500)}")

    def _wait(self, done, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        state: dict = {}
        while time.monotonic() < deadline:
            state = self.state()
            if done(state):
                return state
            time.sleep(0.5)
        hint = f" A dialog is open: {state['dialog']!r}." if state.get("dialog") else ""
        raise TimeoutError(f"waited {timeout:.0f} s for {what} in {self.path}.{hint}\n"
                           + self.describe())
