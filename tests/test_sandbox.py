"""The grading sandbox: a hostile submission in a class folder, graded by the real command-line
grader, can harm nothing and nobody; without isolation, other people's code is refused.

The class is graded twice (the hostile submission first, then last). Every attack of
``tests/fixtures/hostile/_attacks.py`` must fail inside the child, while the other learners'
grades, their files, the checkout and the gradebook stay exact. The hostile submission is the
worked answers with ``ex03`` attacking at import, and ``relu`` replaced by a function that
attacks and shows the outcome in its feedback.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from minicnn.grade import EXERCISES, isolation

pytestmark = pytest.mark.ch01  # the grader every chapter's exercise goes through

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "fixtures" / "hostile"
FULL = sum(ex.points for ex in EXERCISES)
ATTACKS = ("checkout0", "checkout1", "checkout2", "siblings", "home", "csv", "secret",
           "connect", "udp", "signal", "burst", "bigfile")  # "detach": see the last test
needs_isolation = pytest.mark.skipif(
    not isolation.probe().isolated and os.environ.get("MINICNN_ISOLATION") is None,
    reason=f"this machine cannot isolate the grader: {isolation.probe().reason}")


def tree_hash(*folders: Path) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path).encode() + path.read_bytes())
    return h.hexdigest()


class Listener:
    """A loopback TCP and UDP listener that records whether anything reached it."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp.settimeout(0.2)
        self.udp.settimeout(0.2)
        self.reached: list[str] = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            for sock, what in ((self.tcp, "tcp"), (self.udp, "udp")):
                try:
                    if what == "tcp":
                        sock.accept()[0].close()
                    else:
                        sock.recv(16)
                    self.reached.append(what)
                except OSError:
                    pass

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.tcp.close()
        self.udp.close()


def make_class(root: Path, port: int, hostile_last: bool) -> tuple[Path, dict[str, str]]:
    """A class folder: two copies of the solutions, a starter copy, one hostile submission.

    Returns the folder and each submission's role, in grading order.
    """
    klass = root / "class"
    klass.mkdir()
    (root / "home").mkdir()
    secret = root / "instructor" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOP-SECRET-4711")
    roles = ({"ann": "solutions", "bob": "exercises", "cat": "solutions", "zed": "hostile"}
             if hostile_last else
             {"abe": "hostile", "bob": "solutions", "cat": "exercises", "dan": "solutions"})
    for name, role in roles.items():
        _copy_py(REPO / ("solutions" if role == "hostile" else role), klass / name)
    hostile = klass / next(n for n, r in roles.items() if r == "hostile")
    values = {"@CLASS@": str(klass), "@SECRET@": str(secret), "@PORT@": str(port),
              "@HOME@": str(root / "home"), "@MARK@": str(root / "outlived.txt"),
              "@SIBLINGS@": ",".join(str(klass / n) for n, r in roles.items() if r != "hostile")}
    attacks = (HOSTILE / "_attacks.py").read_text()
    for key, value in values.items():
        attacks = attacks.replace(key, value)
    (hostile / "_attacks.py").write_text(attacks)
    answer = (REPO / "solutions" / "ex03_output_size.py").read_text()
    (hostile / "ex03_output_size.py").write_text(
        answer + "\n" + (HOSTILE / "ex03_output_size.py").read_text())
    for module in ("ex04_relu",):  # an answer, then a function replaced
        (hostile / f"{module}.py").write_text((REPO / "solutions" / f"{module}.py").read_text()
                                              + "\n" + (HOSTILE / f"{module}.py").read_text())
    return klass, roles


def _copy_py(source: Path, dest: Path) -> None:
    dest.mkdir()
    for path in source.glob("*.py"):
        (dest / path.name).write_bytes(path.read_bytes())


def leftover_children(tmp: Path) -> list[str]:
    """Processes still running code from a grading folder made under ``tmp``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            if f"{tmp}/minicnn-grade-".encode() in cmdline:
                found.append(f"{name}: {cmdline!r}")
    return found


@pytest.fixture(scope="module", params=[False, True], ids=["hostile-first", "hostile-last"])
def graded(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    listener = Listener()
    klass, roles = make_class(root, listener.port, hostile_last=request.param)
    names = list(roles)
    before = {n: tree_hash(klass / n) for n in names}
    checkout = tree_hash(REPO / "tests", REPO / "solutions", REPO / "exercises",
                         REPO / "minicnn")
    (root / "tmp").mkdir()  # the grader's work folders go here, to find their processes
    env = dict(os.environ, HOME=str(root / "home"), TMPDIR=str(root / "tmp"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "minicnn.grade",
                           *[str(klass / n) for n in names], "--json",
                           "--csv", str(klass / "grades.csv")],
                          capture_output=True, text=True, env=env, cwd=root, timeout=300)
    seconds = time.monotonic() - start
    time.sleep(5)  # the detached process would write 4 s after it started
    listener.close()
    yield {"proc": proc, "root": root, "klass": klass, "names": names, "before": before,
           "checkout": checkout, "listener": listener, "seconds": seconds, "roles": roles,
           "hostile": next(n for n, r in roles.items() if r == "hostile"),
           "reports": {Path(r["submission"]).name: r for r in json.loads(proc.stdout)}}


@needs_isolation
def test_sandbox_is_really_on(tmp_path):
    """A plain write outside the copy must fail, so a silent fallback cannot pass."""
    sub = tmp_path / "sub"
    _copy_py(REPO / "solutions", sub)
    target = tmp_path / "outside.txt"
    (sub / "ex01_images.py").write_text(
        (REPO / "solutions" / "ex01_images.py").read_text() +
        f"\nopen({str(target)!r}, 'w').write('escaped')\n")
    from minicnn.grade import grade_submission

    result = grade_submission(sub, only="ex01").results[0]
    assert not target.exists()
    assert result.points == 0 and "outside its own folder" in result.feedback


def test_links_in_a_submission_are_not_copied(tmp_path):
    """A link could make the grader itself read somebody's file into the copy."""
    from minicnn.grade import sandbox

    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "ex01_images.py").symlink_to(secret)
    os.link(secret, sub / "ex02_convolution.py")
    (sub / "ex03_output_size.py").write_text("x = 1\n")
    (tmp_path / "work").mkdir()
    copy = sandbox.copy_submission(sub, tmp_path / "work")
    assert sorted(p.name for p in copy.iterdir()) == ["ex03_output_size.py"]


@needs_isolation
def test_every_attack_fails_inside_the_child(graded):
    hostile = graded["reports"][graded["hostile"]]
    relu = next(r for r in hostile["results"] if r["function"] == "relu")
    log = relu["feedback"]
    assert "ATTACKS" in log, log
    for attack in ATTACKS:
        assert f"{attack}=stopped" in log, f"{attack} was not stopped: {log}"
    assert "TOP-SECRET" not in graded["proc"].stdout + graded["proc"].stderr


@needs_isolation
def test_hostile_submission_is_graded_on_its_answers(graded):
    hostile = graded["reports"][graded["hostile"]]
    scores = {r["function"]: r["points"] for r in hostile["results"]}
    assert scores["output_size"] == 1  # attacked at import, answered correctly
    assert scores["relu"] == 0
    assert hostile["score"] == FULL - 1
    assert "Landlock" in hostile["isolation"] and not hostile["unsafe_no_isolation"]


@needs_isolation
def test_other_learners_and_the_checkout_are_untouched(graded):
    klass, names = graded["klass"], graded["names"]
    for name in names:
        if name != graded["hostile"]:
            assert tree_hash(klass / name) == graded["before"][name], name
    expected = {n: FULL if r == "solutions" else 0 for n, r in graded["roles"].items()
                if r != "hostile"}
    scores = {n: graded["reports"][n]["score"] for n in names if n != graded["hostile"]}
    assert scores == expected
    assert tree_hash(REPO / "tests", REPO / "solutions", REPO / "exercises",
                     REPO / "minicnn") == graded["checkout"]
    assert not (graded["root"] / "home" / "planted.txt").exists()


@needs_isolation
def test_nothing_outlives_grading_and_the_gradebook_is_exact(graded):
    assert graded["listener"].reached == []
    assert not (graded["root"] / "outlived.txt").exists()
    assert leftover_children(graded["root"] / "tmp") == []
    with open(graded["klass"] / "grades.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows[1:]] == graded["names"]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert graded["proc"].returncode == 0, graded["proc"].stderr


# ---------------------------------------------------------------------------- no isolation
def run_cli(*args, tmp_path, env_extra=None):
    env = dict(os.environ, MINICNN_ISOLATION="off", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "minicnn.grade", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_without_isolation_other_peoples_code_is_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _copy_py(REPO / "solutions", a)
    _copy_py(REPO / "solutions", b)
    for args in ((a, b), (a,)):
        proc = run_cli(*args, "--only", "ex03", tmp_path=tmp_path)
        assert proc.returncode == 2
        assert "refusing to grade other people's code" in proc.stderr
        assert isolation.UNSAFE_FLAG in proc.stderr and proc.stdout == ""


def test_the_unsafe_flag_grades_and_says_so(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _copy_py(REPO / "solutions", a)
    _copy_py(REPO / "solutions", b)
    proc = run_cli(a, b, "--only", "ex03", isolation.UNSAFE_FLAG, "--csv",
                   tmp_path / "g.csv", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("UNSAFE: graded without isolation") == 2
    feedback = (tmp_path / "g-feedback" / "a.txt").read_text()
    assert "UNSAFE" in feedback and "MINICNN_ISOLATION=off" in feedback
    proc = run_cli(a, "--only", "ex03", "--json", isolation.UNSAFE_FLAG, tmp_path=tmp_path)
    assert json.loads(proc.stdout)["unsafe_no_isolation"] is True


def test_a_learner_checking_their_own_work_is_told_once(tmp_path):
    code = ("from minicnn.grade import check\n"
            "check('ex03', path='exercises'); check('ex04', path='exercises')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env=dict(os.environ, MINICNN_ISOLATION="off"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("without isolation") == 1
    assert "Score: 0/1" in proc.stdout and "Score: 0/2" in proc.stdout


def test_doctor_reports_the_isolation():
    from minicnn.doctor import check_isolation

    line = check_isolation().line()
    assert ("Landlock ABI" in line) == isolation.probe().isolated
