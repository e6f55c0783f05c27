"""Interactive widgets for the notebooks, one module per chapter.

Each widget is a :class:`~minicnn.widgets._base.CourseWidget` (controls, a line of text, and a
matplotlib figure that redraws when a control moves). A notebook makes one call per widget, e.g.
``widgets.conv_stepper(image, kernel)``; the static figures beside them live in
:mod:`minicnn.plotting`.
"""

from minicnn.widgets._base import CourseWidget
from minicnn.widgets.activations import *  # noqa: F403  (chapter 04)
from minicnn.widgets.convolution import *  # noqa: F403  (chapter 02)
from minicnn.widgets.dense import *  # noqa: F403  (chapter 06)
from minicnn.widgets.hyperparameters import *  # noqa: F403  (chapter 08)
from minicnn.widgets.output_size import *  # noqa: F403  (chapter 03)
from minicnn.widgets.pooling import *  # noqa: F403  (chapter 05)
from minicnn.widgets.training import *  # noqa: F403  (chapter 07)

__all__ = ["CourseWidget"]
