"""One file per chapter: everything the grader knows about that chapter's exercises.

``chNN_<topic>.py`` grades ``exercises/exNN_<topic>.py``. Each file holds, for each graded
function, its cases, its reference answer (the grader's own plain loops, independent of the rest
of the package, so that a bug in ``minicnn.conv`` cannot make the grader wrong), its named
mistakes (what a learner who made the mistake returns, or how to recognise it, and the message)
and how answers are compared; and ends with ``EXERCISES``, the chapter's graded functions in
course order. :mod:`minicnn.grade.registry` finds the files by name: a new chapter file needs
no other change.
"""
