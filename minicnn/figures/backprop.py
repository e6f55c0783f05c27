"""The chain rule on a computational graph (chapter 02): one neuron, forward and backward.

A filter at one position is a neuron: ``z = w1 * x1 + w2 * x2 + b``. With a squared error
against a target ``t`` the graph is

    x1, w1 -> p1 = w1 * x1 \\
    x2, w2 -> p2 = w2 * x2  -> z = p1 + p2 + b -> e = z - t -> L = e ** 2
                        b  /

:func:`neuron_values` works it out, forward (a value at every node) and backward (the
gradient of ``L`` at every node, each one local gradient times upstream gradient), and
:func:`neuron_graph` draws it: values in the nodes, gradients in red beside them, and on each
edge, when the gradients are shown, the local gradient that the upstream gradient is
multiplied by on its way back.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["neuron_graph", "neuron_values"]

# where each node sits (x, y) and how it is labelled
_NODES = {"x1": (0.0, 3.0, "x1"), "w1": (0.0, 2.0, "w1"), "x2": (0.0, 1.0, "x2"),
          "w2": (0.0, 0.0, "w2"), "b": (2.0, -0.8, "b"), "p1": (2.0, 2.5, "p1 = w1 x1"),
          "p2": (2.0, 0.5, "p2 = w2 x2"), "z": (4.0, 1.5, "z = p1 + p2 + b"),
          "t": (4.0, -0.8, "t (target)"), "e": (6.0, 1.5, "e = z - t"),
          "L": (8.0, 1.5, "L = e²")}
# (child, parent): the value of child flows into parent
_EDGES = (("x1", "p1"), ("w1", "p1"), ("x2", "p2"), ("w2", "p2"), ("p1", "z"), ("p2", "z"),
          ("b", "z"), ("z", "e"), ("e", "L"))


def neuron_values(x1: float, x2: float, w1: float, w2: float, b: float,
                  t: float) -> tuple[dict, dict, dict]:
    """Forward and backward through the neuron and its squared error, by the chain rule.

    Returns
    -------
    values : dict
        The value at every node: x1, x2, w1, w2, b, t, p1, p2, z, e, L.
    local : dict
        ``local[(child, parent)]``: the local gradient d parent / d child of every edge.
    grads : dict
        dL / d node for every node but t, each ``local[(node, parent)] * grads[parent]``.
    """
    v = {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "t": t}
    v["p1"], v["p2"] = w1 * x1, w2 * x2
    v["z"] = v["p1"] + v["p2"] + b
    v["e"] = v["z"] - t
    v["L"] = v["e"] ** 2
    local = {("e", "L"): 2 * v["e"], ("z", "e"): 1.0, ("p1", "z"): 1.0, ("p2", "z"): 1.0,
             ("b", "z"): 1.0, ("w1", "p1"): x1, ("x1", "p1"): w1, ("w2", "p2"): x2,
             ("x2", "p2"): w2}
    grads = {"L": 1.0}
    for child, parent in reversed(_EDGES):  # from the loss back to the inputs
        grads[child] = local[(child, parent)] * grads[parent]
    return v, local, grads


def _number(x: float) -> str:
    return f"{x:.5g}"


def neuron_graph(values: dict, local: dict | None = None, grads: dict | None = None,
                 title: str | None = None):
    """Draw the neuron's graph: the forward values, and, if given, the backward gradients.

    Parameters
    ----------
    values : dict
        From :func:`neuron_values`: the value at every node (drawn inside the node).
    local, grads : dict, optional
        The local gradient of every edge (drawn on the edge, in blue) and dL / d node (in red
        under the node); leave them out for the forward pass alone.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(12, 4.6))
    for child, parent in (*_EDGES, ("t", "e")):
        (x0, y0, _), (x1, y1, _) = _NODES[child], _NODES[parent]
        ax.add_patch(FancyArrowPatch((x0 + 0.55, y0), (x1 - 0.75, y1), arrowstyle="-|>",
                                     mutation_scale=12, color="0.45", lw=1.2))
        if local is not None and (child, parent) in local:
            xm, ym = x0 + 0.55 + 0.45 * (x1 - x0 - 1.3), y0 + 0.45 * (y1 - y0)
            ax.text(xm, ym + 0.12, f"local {_number(local[(child, parent)])}", color="tab:blue",
                    fontsize=8, ha="center", va="bottom",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
    for name, (x, y, label) in _NODES.items():
        ax.add_patch(FancyBboxPatch((x - 0.7, y - 0.3), 1.4, 0.6,
                                    boxstyle="round,pad=0.05", fc="0.95", ec="0.3"))
        ax.text(x, y + 0.1, label, ha="center", va="center", fontsize=8)
        ax.text(x, y - 0.14, _number(values[name]), ha="center", va="center", fontsize=10,
                weight="bold")
        if grads is not None and name in grads:
            ax.text(x, y - 0.48, f"dL/d{name} = {_number(grads[name])}", ha="center",
                    va="center", fontsize=8.5, color="tab:red")
    ax.set_xlim(-0.9, 8.9)
    ax.set_ylim(-1.45, 3.5)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
