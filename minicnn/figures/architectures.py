"""Where the field went after networks like chapter 07's (chapter 10): LeNet, a VGG-style stack
and a residual block, each drawn as a row of boxes, one box a layer."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

COLOURS = {"conv": "#9ecae1", "pool": "#fdd0a2", "dense": "#c7e9c0", "norm": "#dadaeb",
           "add": "#fcbba1"}

ROWS = (
    ("LeNet-5 (1998): 2 convolutions, 60,000 weights",
     [("conv 5x5\n6", "conv"), ("pool", "pool"), ("conv 5x5\n16", "conv"), ("pool", "pool"),
      ("dense\n120", "dense"), ("dense\n84", "dense"), ("dense\n10", "dense")]),
    ("VGG-style (2014): blocks of 3x3 convolutions, channels doubling after each pool",
     [("conv 3x3\n64", "conv"), ("conv 3x3\n64", "conv"), ("pool", "pool"),
      ("conv 3x3\n128", "conv"), ("conv 3x3\n128", "conv"), ("pool", "pool"), ("...", "pool"),
      ("dense", "dense")]),
    ("Residual block (2015): out = x + f(x), stacked 18 to 152 layers deep",
     [("x", "add"), ("conv 3x3", "conv"), ("batch\nnorm", "norm"), ("ReLU", "norm"),
      ("conv 3x3", "conv"), ("batch\nnorm", "norm"), ("+", "add"), ("ReLU", "norm")]),
)


def draw_architectures(figsize=(11, 5.2)):
    """Three rows: LeNet-5, a VGG-style stack, a residual block with its skip connection."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(0, 11)
    ax.set_ylim(-0.6, len(ROWS) * 1.8)
    ax.axis("off")
    for r, (title, boxes) in enumerate(ROWS):
        y = (len(ROWS) - 1 - r) * 1.8 + 0.35
        ax.text(0.05, y + 1.05, title, fontsize=10, weight="bold")
        for i, (text, kind) in enumerate(boxes):
            x = 0.2 + i * 1.3
            ax.add_patch(FancyBboxPatch((x, y), 1.0, 0.75, boxstyle="round,pad=0.03",
                                        fc=COLOURS[kind], ec="0.3"))
            ax.text(x + 0.5, y + 0.375, text, ha="center", va="center", fontsize=8)
            if i:
                ax.add_patch(FancyArrowPatch((x - 0.3, y + 0.375), (x, y + 0.375),
                                             arrowstyle="->", mutation_scale=10, color="0.3"))
        if title.startswith("Residual"):  # the skip connection, from x over f to the sum
            start, end = 0.2 + 0.5, 0.2 + 6 * 1.3 + 0.5
            ax.add_patch(FancyArrowPatch((start, y - 0.03), (end, y - 0.03),
                                         connectionstyle="arc3,rad=0.12", arrowstyle="->",
                                         mutation_scale=12, color="#cb181d", lw=1.5))
            ax.text((start + end) / 2, y - 0.75, "skip connection: x itself, unchanged",
                    color="#cb181d", ha="center", fontsize=8)
    return fig
