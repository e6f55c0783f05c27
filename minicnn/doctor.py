"""``python -m minicnn doctor``: is this machine ready for the course?

Each check prints one line, ``OK``, ``WARN`` or ``FAIL``, what it found and, when something is
wrong, the command that fixes it. The exit status is 1 when any check FAILs (a WARN does not
fail), so a workshop script can run the doctor on every machine of a room.

The checks: the Python version; the versions of numpy, matplotlib, ipywidgets, tqdm,
jupyterlab and ipykernel against the lower bounds minicnn declares; that ``import minicnn``
finds this course's package; that a Jupyter kernel imports the same package; that ipywidgets
will render in JupyterLab; that matplotlib can draw a figure; which Fashion-MNIST is here (the
full set, or only the subset shipped with minicnn); the free disk space for the data cache; and
whether training can split its batches over two threads.

This module avoids syntax newer than Python 3.8 so that it can still say "Python too old".
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from minicnn._versions import installed_version as _installed_version
from minicnn._versions import requirements, satisfies

OK, WARN, FAIL = "OK", "WARN", "FAIL"
PACKAGES = ("numpy", "matplotlib", "ipywidgets", "tqdm", "jupyterlab", "ipykernel")
DEFAULT_PYTHON = ">=3.11"
DEFAULT_KERNEL = "python3"  # the kernel the course's notebooks name
FREE_MB_WARN, FREE_MB_FAIL = 200, 50  # the full Fashion-MNIST download is about 30 MB
WIDGETS_EXTENSION = ("@jupyter-widgets", "jupyterlab-manager")


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` (OK, WARN or FAIL), what was found, how to fix it."""

    status: str
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status:<5}{self.what}" + (f" -> fix: {self.fix}" if self.fix else "")


# --- versions: see minicnn._versions --------------------------------------------------------

def _install_command(spec: str) -> str:
    if os.path.isdir(os.path.join(sys.prefix, "conda-meta")):
        return f"conda install -c conda-forge '{spec}'"
    return f"python -m pip install --upgrade '{spec}'"


def check_python(version: tuple = tuple(sys.version_info[:3]), spec: str | None = None) -> Check:
    """Is this Python new enough for minicnn (``Requires-Python``, default >=3.11)?"""
    if spec is None:
        try:
            spec = metadata.metadata("minicnn")["Requires-Python"] or DEFAULT_PYTHON
        except metadata.PackageNotFoundError:
            spec = DEFAULT_PYTHON
    text = ".".join(map(str, version))
    if satisfies(text, spec):
        return Check(OK, f"Python {text} ({sys.executable})")
    return Check(FAIL, f"Python {text} is too old: minicnn needs Python {spec}",
                 "install Python 3.11 or newer (python.org, or `conda create -n minicnn "
                 "python=3.11`), then set the course up again with it")


def check_package(name: str, spec: str) -> Check:
    """Is ``name`` installed, in a version that meets ``spec``?"""
    version = _installed_version(name)
    need = f"{name}{spec}"
    if version is None:
        return Check(FAIL, f"{name} is not installed (the course needs {need})",
                     _install_command(need))
    if spec and not satisfies(version, spec):
        return Check(FAIL, f"{name} {version} is too old (the course needs {need})",
                     _install_command(need))
    return Check(OK, f"{name} {version}" + (f" (needs {spec})" if spec else ""))


# --- where minicnn comes from -----------------------------------------------------------------

def _course_folder(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding this course (pyproject + minicnn/)."""
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if (folder / "minicnn" / "__init__.py").is_file() and pyproject.is_file():
            if re.search(r'^name\s*=\s*"minicnn"', pyproject.read_text(encoding="utf-8"),
                         re.MULTILINE):
                return folder
    return None


def _package_dir() -> Path:
    import minicnn

    return Path(minicnn.__file__).resolve().parent


def check_minicnn() -> Check:
    """Does ``import minicnn`` find this course's package, installed?"""
    location = _package_dir()
    version = _installed_version("minicnn")
    course = _course_folder(Path.cwd())
    if course is not None and location != (course / "minicnn").resolve():
        return Check(FAIL, f"Python imports minicnn from {location}, not from the course "
                           f"folder you are in ({course})",
                     f"cd {course} && python -m pip install -e .")
    if version is None:
        return Check(FAIL, f"minicnn in {location} is importable only from its own folder: "
                           "it is not installed, so notebooks and kernels will not find it",
                     f"cd {location.parent} && python -m pip install -e .")
    return Check(OK, f"minicnn {version} imported from {location}")


# --- Jupyter: kernel and widgets --------------------------------------------------------------

def _kernel_specs() -> dict[str, dict]:
    """Kernel name -> its kernel.json content, as Jupyter in this environment sees them."""
    from jupyter_client.kernelspec import KernelSpecManager

    return {name: info["spec"] for name, info in KernelSpecManager().get_all_specs().items()}


def _kernel_python(spec: dict) -> str:
    exe = spec["argv"][0]
    # jupyter_client runs a bare "python" as the Python that runs Jupyter itself.
    if exe in {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}:
        return sys.executable
    return exe


def _kernel_imports(spec: dict) -> str:
    """Where the kernel's Python finds minicnn ("" when it cannot import it or ipykernel)."""
    env = dict(os.environ, **spec.get("env", {}))
    code = "import ipykernel, minicnn; print(minicnn.__file__)"
    try:
        done = subprocess.run([_kernel_python(spec), "-c", code], capture_output=True,
                              text=True, timeout=120, env=env, cwd=tempfile.gettempdir())
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = done.stdout.strip().splitlines()
    return str(Path(lines[-1]).resolve().parent) if done.returncode == 0 and lines else ""


def check_kernel() -> Check:
    """Does a Jupyter kernel of this environment import this minicnn (and ipykernel)?"""
    register = ("python -m ipykernel install --user --name minicnn "
                "--display-name 'Python (minicnn)', then pick that kernel in JupyterLab")
    try:
        specs = _kernel_specs()
    except Exception as exc:  # jupyter_client missing or a broken kernel.json
        return Check(FAIL, f"cannot list Jupyter kernels ({type(exc).__name__}: {exc})",
                     "python -m pip install -e '.[lab]' in the course folder")
    here = str(_package_dir())
    python = {name: spec for name, spec in specs.items()
              if spec.get("language", "").lower() == "python" and spec.get("argv")}
    # Each look starts a kernel's Python; stop at the first that imports this minicnn.
    if DEFAULT_KERNEL in python and _kernel_imports(python[DEFAULT_KERNEL]) == here:
        return Check(OK, f"the '{DEFAULT_KERNEL}' kernel ({_kernel_python(python[DEFAULT_KERNEL])})"
                         " imports this minicnn")
    other = next((name for name, spec in python.items()
                  if name != DEFAULT_KERNEL and _kernel_imports(spec) == here), None)
    if other is not None:
        return Check(WARN, f"the '{DEFAULT_KERNEL}' kernel does not import this minicnn, but "
                           f"kernel '{other}' does",
                     f"in JupyterLab use Kernel > Change Kernel > {other}")
    seen = ", ".join(f"{n} ({_kernel_python(s)})" for n, s in python.items()) or "none"
    return Check(FAIL, f"no Jupyter kernel imports the minicnn in {here}; Python kernels: "
                       f"{seen}", f"start JupyterLab from this environment "
                       f"(python -m jupyter lab), or register it: {register}")


def _labextension_dirs() -> list[Path]:
    try:
        from jupyter_core.paths import jupyter_path

        return [Path(p) for p in jupyter_path("labextensions")]
    except ImportError:
        return [Path(sys.prefix) / "share" / "jupyter" / "labextensions"]


def _widgets_extension() -> Path | None:
    for folder in _labextension_dirs():
        package = folder.joinpath(*WIDGETS_EXTENSION, "package.json")
        if package.is_file():
            return package
    return None


def check_widgets() -> Check:
    """Will ipywidgets render in JupyterLab (its lab extension installed, versions match)?"""
    widgets = _installed_version("ipywidgets")
    if widgets is None:
        return Check(FAIL, "ipywidgets is not installed: the notebooks' widgets cannot show",
                     _install_command("ipywidgets>=8.1"))
    spec = requirements("ipywidgets").get("jupyterlab-widgets", "")
    need = f"jupyterlab_widgets{spec}"
    lab_widgets = _installed_version("jupyterlab_widgets")
    if lab_widgets is None or not satisfies(lab_widgets, spec):
        found = "is not installed" if lab_widgets is None else f"{lab_widgets} does not match"
        return Check(FAIL, f"jupyterlab_widgets {found} (ipywidgets {widgets} needs {need}): "
                           "widgets would show as text, not controls", _install_command(need))
    extension = _widgets_extension()
    if extension is None:
        return Check(FAIL, "JupyterLab cannot find the ipywidgets extension "
                           f"({'/'.join(WIDGETS_EXTENSION)}) in {_labextension_dirs()}",
                     f"python -m pip install --force-reinstall '{need}'")
    return Check(OK, f"ipywidgets {widgets} will render in JupyterLab (jupyterlab_widgets "
                     f"{lab_widgets}, extension in {extension.parent.parent.parent})")


# --- figures, data, disk ----------------------------------------------------------------------

def _render_png() -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=20)
    FigureCanvasAgg(fig)
    fig.subplots().plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def check_matplotlib() -> Check:
    """Can matplotlib draw a figure to PNG (what notebooks show inline)?"""
    try:
        png = _render_png()
    except Exception as exc:
        return Check(FAIL, f"matplotlib cannot draw a figure ({type(exc).__name__}: {exc})",
                     "python -m pip install --force-reinstall matplotlib")
    if not png.startswith(b"\x89PNG"):
        return Check(FAIL, "matplotlib drew a figure but did not produce a PNG",
                     "python -m pip install --force-reinstall matplotlib")
    if _installed_version("matplotlib-inline") is None:
        return Check(FAIL, "matplotlib works, but notebooks cannot show figures inline "
                           "(matplotlib-inline is missing)",
                     _install_command("matplotlib-inline"))
    backend = os.environ.get("MPLBACKEND")
    if backend:
        return Check(WARN, f"matplotlib draws figures, but MPLBACKEND={backend} is set and may "
                           "stop figures showing in notebooks", "unset MPLBACKEND")
    return Check(OK, f"matplotlib draws figures (a {len(png)}-byte test PNG)")


def _full_dataset_dir() -> Path | None:
    """The folder load_fashion_mnist("full") would read, or None (it would download)."""
    from minicnn import datasets

    return datasets.find_local()


def check_dataset() -> Check:
    """Is the full Fashion-MNIST on this machine, or only the subset shipped with minicnn?"""
    from minicnn import datasets

    missing = datasets.missing_files(datasets.SUBSET_DIR)
    if missing:
        return Check(FAIL, f"the Fashion-MNIST subset shipped with minicnn lacks "
                           f"{', '.join(missing)} (in {datasets.SUBSET_DIR})",
                     "reinstall minicnn: python -m pip install --force-reinstall -e .")
    full = _full_dataset_dir()
    if full is not None:
        return Check(OK, f"full Fashion-MNIST found in {full}; the shipped subset is there too")
    cache = datasets.cache_root() / datasets.FASHION_MNIST.folder
    return Check(OK, "the Fashion-MNIST subset shipped with minicnn is ready (enough for the "
                     "notebooks); the full set is not on this machine: optional, get it with "
                     "`sudo apt-get install dataset-fashion-mnist`, MINICNN_DATA=<folder with "
                     f"the four files>, or a download (about 30 MB) into {cache} on first use")


def _writable(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def check_disk() -> Check:
    """Is there a writable data cache folder with enough free space?"""
    try:
        from minicnn.datasets import cache_root

        cache = cache_root()
    except ImportError:
        cache = Path.home() / ".cache" / "minicnn"
    existing = next(p for p in (cache, *cache.parents) if p.exists())
    redirect = "set XDG_CACHE_HOME to a folder on a disk with room (export XDG_CACHE_HOME=...)"
    if not _writable(existing):
        return Check(FAIL, f"the data cache {cache} cannot be written ({existing} is read-only "
                           "for you)", redirect)
    free_mb = shutil.disk_usage(existing).free // 2**20
    what = f"{free_mb:,} MB free for the data cache ({cache})"
    if free_mb < FREE_MB_FAIL:
        return Check(FAIL, f"only {what}: the full data set and figures need more",
                     f"free some disk space, or {redirect}")
    if free_mb < FREE_MB_WARN:
        return Check(WARN, f"only {what}; {FREE_MB_WARN} MB or more is comfortable",
                     f"free some disk space, or {redirect}")
    return Check(OK, what)


def check_speed() -> Check:
    """Can fast training use both cores (see minicnn.fast.threads)?"""
    from minicnn.fast import threads as _parallel

    two, text = _parallel.status()
    return Check(OK if two else WARN, text,
                 "" if two else "nothing to fix for the course; for speed, use numpy's "
                                  "PyPI wheels on Linux (python -m pip install numpy) and "
                                  "unset MINICNN_THREADS")


def check_isolation() -> Check:
    """Can the grader confine other people's code (see minicnn.grade.isolation)?"""
    from minicnn.grade import isolation

    iso = isolation.probe()
    if iso.isolated:
        return Check(OK, f"the grader isolates submissions: {iso.describe()}")
    return Check(WARN, f"the grader cannot isolate submissions here ({iso.reason})",
                 "nothing to fix for checking your own exercises; to grade other people's "
                 "code, use Linux 6.12 or newer on x86-64 (run as an ordinary user, or as root "
                 "with a writable pids cgroup)")


# --- running them -----------------------------------------------------------------------------

def run_checks() -> list[Check]:
    """Every check in order; a check that crashes is reported as a FAIL, not raised."""
    bounds = requirements()
    steps = [("Python", check_python)]
    steps += [(name, lambda n=name: check_package(n, bounds.get(n, ""))) for name in PACKAGES]
    steps += [("minicnn", check_minicnn), ("kernel", check_kernel), ("widgets", check_widgets),
              ("matplotlib", check_matplotlib), ("data", check_dataset), ("disk", check_disk),
              ("speed", check_speed), ("isolation", check_isolation)]
    results = []
    for name, step in steps:
        try:
            results.append(step())
        except Exception as exc:
            results.append(Check(FAIL, f"the {name} check crashed: {type(exc).__name__}: {exc}",
                                 "run `python -m minicnn doctor` again; if it repeats, report "
                                 "this line to your instructor"))
    return results


def main(argv: list[str] | None = None) -> int:
    """Print every check; return 1 if any FAILed, else 0."""
    parser = argparse.ArgumentParser(prog="python -m minicnn doctor",
                                     description="Check that this machine is ready for the "
                                                 "minicnn course and say how to fix what is not.")
    parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(f"minicnn doctor: checking {sys.executable}", flush=True)
    results = run_checks()
    for result in results:
        print(result.line(), flush=True)
    counts = {status: sum(r.status == status for r in results) for status in (OK, WARN, FAIL)}
    print(f"{counts[OK]} OK, {counts[WARN]} WARN, {counts[FAIL]} FAIL")
    if counts[FAIL]:
        print("Fix the FAIL lines (each says how), then run `python -m minicnn doctor` again.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
