"""The command line: python -m minicnn train."""

import subprocess
import sys

import numpy as np
import pytest

from minicnn import __main__ as cli
from minicnn.network import Sequential

pytestmark = pytest.mark.ch07


def test_train_on_the_subset(tmp_path, capsys):
    out = tmp_path / "w.npz"
    code = cli.main(["train", "--epochs", "1", "--limit", "1500", "--no-progress",
                     "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "1,500 training and 2,000 test images" in text
    acc = float(text.split("test accuracy: ")[1].split("%")[0])
    assert 50 < acc <= 100
    model = Sequential.load(out)
    assert model.predict(np.zeros((1, 28, 28, 1), np.float32)).shape == (1,)


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "minicnn", "train", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--data {subset,full}" in result.stdout


def test_unknown_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--epochs", "1", "--bogus"])
    assert "unrecognised arguments: --bogus" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--epochs", "0"], "argument --epochs: must be a whole number greater than 0, got 0"),
    (["--batch-size", "1.5"], "argument --batch-size: must be a whole number, got '1.5'"),
    (["--lr", "-0.1"], "argument --lr: must be a finite number greater than 0, got -0.1"),
    (["--lr", "nan"], "argument --lr: must be a finite number greater than 0, got nan"),
    (["--channels", "8", "0"], "argument --channels: must be a whole number greater than 0"),
    # before, --limit -5 trained on all but the last 5 images and --limit 0 on all of them
    (["--limit", "-5"], "argument --limit: must be a whole number greater than 0, got -5"),
    (["--limit", "0"], "argument --limit: must be a whole number greater than 0, got 0"),
])
def test_bad_numbers_are_usage_errors_before_any_data_is_loaded(args, message, capsys,
                                                                 monkeypatch):
    def no_loading(**kwargs):
        raise AssertionError("the data was loaded before the arguments were checked")

    monkeypatch.setattr("minicnn.datasets.load_fashion_mnist", no_loading)
    with pytest.raises(SystemExit) as info:
        cli.main(["train", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
