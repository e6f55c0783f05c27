"""minicnn: convolutional neural networks from scratch, in numpy.

A companion package to the minicnn course. Each module is one topic and matches a chapter:

========================  ==========================================  =======
module                    topic                                       chapter
========================  ==========================================  =======
``minicnn.images``        images as arrays, sample photographs        01
``minicnn.conv``          convolution: loops, and im2col + matmul     02
``minicnn.shapes``        the output-size formula                     03
``minicnn.activations``   ReLU, sigmoid, tanh                         04
``minicnn.pooling``       max and average pooling                     05
``minicnn.dense``         the fully connected layer's maths           06
``minicnn.losses``        softmax and cross-entropy                   06
``minicnn.layers``        layer objects with forward and backward     06-07
``minicnn.network``       ``Sequential``: a stack of layers           07
``minicnn.saving``        a model's .npz file: save and load          07
``minicnn.optim``         SGD and Adam                                07
``minicnn.train``         ``fit`` and ``evaluate``                    07
``minicnn.datasets``      Fashion-MNIST, offline-first                07
``minicnn.download``      a download kept only if its checksum fits   07
``minicnn.idx``           reading and writing IDX files (MNIST's)     07
``minicnn.gradcheck``     numerical gradients                         06-07
``minicnn.experiments``   networks from a layer order; short trials   08
``minicnn.pretrained``    a network trained on all of Fashion-MNIST   09
``minicnn.batchnorm``     batch normalisation's maths                 10
``minicnn.dropout``       inverted dropout's maths                    10
``minicnn.extra_layers``  ``BatchNorm`` and ``Dropout`` layers          10
``minicnn.augment``       random shifts and flips while training      10
``minicnn.plotting``      the course's figures                        all
``minicnn.widgets``       interactive widgets for the notebooks       02-08
``minicnn.grade``         the exercise grader, ``check("ex02")``      all
``minicnn.own_code``      train with your own exercise functions      07
``minicnn.doctor``        is this machine ready for the course?       -
``minicnn.reset``         restore a starter exercise, with a backup   -
``minicnn.fast``          the fast backend, ``fast=True``             -
========================  ==========================================  =======

The modules above the line ``minicnn.fast`` are the plain core: each holds one idea, written to
be read, and none of them imports the fast backend. ``minicnn.fast`` computes the same numbers
for speed (fused conv -> ReLU -> pool steps, scratch arrays, two threads, allocator tuning); a
model uses it only when switched on, ``Sequential(layers, fast=True)`` or ``model.fast = True``.

Private helpers: ``minicnn._checks`` (argument checks with clear errors) and
``minicnn._versions`` (version checks for the doctor).

Layout convention: **channels-last**, as the images themselves and matplotlib see them.

- an image is ``(H, W, C)``; a batch of images is ``(N, H, W, C)``;
- filters are ``(F, kh, kw, C)``: F filters, each kh x kw and as deep as its input;
- a feature map is ``(H', W', F)``, with ``H' = (H - kh + 2 * padding) // stride + 1``.

PyTorch is channels-first: ``x_torch = x.transpose(0, 3, 1, 2)`` for a batch and
``w_torch = w.transpose(0, 3, 1, 2)`` for filters.
"""

__version__ = "0.1.0"
