"""pytest set-up for the notebooks' regression run (``pytest notebooks --nbval``).

The kernels nbval starts inherit this process's environment. numpy's OpenBLAS gives results
that differ in the last bits from one thread count to another, so the stored outputs were made
with one BLAS thread (``python3 course.py notebooks`` asks for it) and are checked with one.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
