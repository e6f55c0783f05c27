"""The road to PyTorch: to_torch and from_torch give the same logits (chapter 11).

Skipped, with the reason in pytest's summary, when PyTorch is not installed
(``pip install 'minicnn[torch]'``); CI installs torch==2.13.0, so they run there.
"""

import numpy as np
import pytest

from minicnn.datasets import load_fashion_mnist
from minicnn.extra_layers import Dropout
from minicnn.network import Sequential
from minicnn.recipes import better_cnn
from minicnn.train import small_cnn

pytestmark = pytest.mark.ch11
torch = pytest.importorskip("torch", reason="PyTorch is not installed: the road-to-PyTorch "
                                            "tests are skipped (pip install 'minicnn[torch]')")


@pytest.fixture(scope="module")
def images():
    _, (x_test, y_test) = load_fashion_mnist()
    return x_test[:200]


def _trained_better(images):
    """better_cnn with weights and running statistics that are not the initial ones."""
    rng = np.random.default_rng(0)
    model = better_cnn(seed=3, channels=(4, 8), hidden=16)
    for layer in model.layers:
        for p in layer.params.values():
            p += rng.normal(scale=0.1, size=p.shape).astype(p.dtype)
    model.forward(images[:100])                      # training mode: running statistics move
    return model.eval()


def _torch_logits(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).numpy()


@pytest.mark.parametrize("build", [lambda im: small_cnn(seed=1, channels=(8, 16)).eval(),
                                   _trained_better], ids=["chapter 07", "chapter 10"])
def test_to_torch_gives_the_same_logits(build, images):
    model = build(images)
    module = model.to_torch()
    assert not module.training
    np.testing.assert_allclose(_torch_logits(module, images), model.forward(images),
                               rtol=1e-5, atol=1e-5)


def test_from_torch_gives_the_same_logits(images):
    nn = torch.nn
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                           nn.BatchNorm2d(6), nn.Conv2d(6, 8, 3, padding=1), nn.Tanh(),
                           nn.AvgPool2d(2), nn.Flatten(), nn.Linear(7 * 7 * 8, 12),
                           nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.2), nn.Linear(12, 10))
    with torch.no_grad():                            # running statistics that are not 0 and 1
        module.train()
        module(torch.from_numpy(images[:100].transpose(0, 3, 1, 2).copy()))
    module.eval()
    model = Sequential.from_torch(module)
    assert not model.training and isinstance(model.layers[11], Dropout)
    np.testing.assert_allclose(model.forward(images), _torch_logits(module, images),
                               rtol=1e-5, atol=1e-5)
    back = model.to_torch()                          # and round again
    theirs = module.state_dict()
    for key, value in back.state_dict().items():
        if not key.endswith("num_batches_tracked"):      # a counter minicnn does not keep
            np.testing.assert_array_equal(value.numpy(), theirs[key].numpy())


def test_the_shipped_trained_network_runs_in_pytorch(images):
    from minicnn.pretrained import load_pretrained

    model = load_pretrained()
    logits = model.forward(images)
    torch_logits = _torch_logits(model.to_torch(), images)
    np.testing.assert_allclose(torch_logits, logits, rtol=1e-5, atol=1e-5)
    assert (torch_logits.argmax(1) == logits.argmax(1)).all()


def test_the_flatten_order_is_respected():
    """A dense weight that reads one (h, w, c) position reads the same position in PyTorch."""
    model = small_cnn(seed=0, channels=(2, 3))
    model.layers[-1].params["w"][:] = 0
    model.layers[-1].params["w"][(5 * 7 + 6) * 3 + 2, 4] = 1.0   # h 5, w 6, c 2 -> class 4
    weight = model.to_torch()[-1].weight.detach().numpy()
    assert weight[4, 2 * 49 + 5 * 7 + 6] == 1.0 and weight.sum() == 1.0     # (c, h, w) order


def test_layers_without_a_counterpart_are_refused():
    from minicnn.extra_layers import Residual
    from minicnn.layers import Dense

    with pytest.raises(TypeError, match="to_torch does not know Residual"):
        Sequential([Residual([Dense(4, 4)])]).to_torch((4,))
    with pytest.raises(TypeError, match="minicnn has no layer for LeakyReLU"):
        Sequential.from_torch(torch.nn.Sequential(torch.nn.LeakyReLU()), (4,))
