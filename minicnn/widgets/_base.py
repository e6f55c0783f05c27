"""The common frame of every course widget: controls, a text line, and a figure that redraws.

Every widget in :mod:`minicnn.widgets` is a :class:`CourseWidget`: an ipywidgets ``VBox`` with
the CSS class ``minicnn-widget`` (the browser test finds widgets by it), standard sliders and
dropdowns as controls, an ``HTML`` line of text, and an ``Output`` showing a matplotlib figure.

Whenever a control changes, ``draw(**values)`` is called with every control's value and returns
``(figure, text)``. The widget keeps the last of each in ``.figure`` and ``.text``, so tests can
set ``widget.controls["stride"].value = 2`` and assert on what would be shown, without a browser.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt


class CourseWidget(widgets.VBox):
    """Controls + text + figure; redraws on every change.

    Parameters
    ----------
    controls : dict of name -> ipywidgets control
        Their values are passed to ``draw`` as keyword arguments, by name.
    draw : callable(**values) -> (matplotlib.figure.Figure or None, str)
        Makes the figure and the text for the current values. It may raise ``ValueError``
        (e.g. a stride that does not tile): the message is then shown instead of a figure.
    title : str
        Shown above the controls, and used as the widget's text representation.
    """

    def __init__(self, controls: dict[str, widgets.Widget],
                 draw: Callable[..., tuple], title: str = "") -> None:
        self.controls = dict(controls)
        self.draw = draw
        self.title = title
        self.html = widgets.HTML()
        self.output = widgets.Output()
        self.figure = None
        self._drawn: dict | None = None  # the control values of the last drawing
        self.text = ""
        self.error: str | None = None
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        wrap = widgets.Layout(flex_flow="row wrap")  # many controls wrap instead of shrinking
        rows = [widgets.HBox(list(self.controls.values()), layout=wrap)] if self.controls else []
        super().__init__(children=[*header, *rows, self.html, self.output])
        self.add_class("minicnn-widget")
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.update()

    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def update(self, change=None) -> None:
        """Redraw for the controls' current values (called on every change).

        A change that leaves the values as last drawn is skipped: when one control moves
        another (a slider's range shrinks and pulls its value in), both fire, but one drawing
        shows them.
        """
        values = self.values
        if change is not None and values == self._drawn:
            return
        self._drawn = values
        if self.figure is not None:
            plt.close(self.figure)
        try:
            self.figure, self.text = self.draw(**values)
            self.error = None
        except ValueError as exc:
            self.figure, self.text, self.error = None, f"Not possible: {exc}", str(exc)
        self.html.value = self.text
        # Set the Output's contents directly rather than `with self.output: display(...)`: no
        # display message reaches the notebook's own output (so nbval sees none), and an
        # impossible setting clears the old figure instead of leaving it on screen.
        self.output.outputs = ()
        if self.figure is not None:
            self.output.append_display_data(self.figure)
            plt.close(self.figure)  # shown once, in the output; not again by the notebook

    def __repr__(self) -> str:
        return f"CourseWidget({self.title!r})"
