"""Figures the notebooks draw to explain an idea (a computational graph, the patch matrix, a
receptive field), one module per topic. The everyday pictures (an image, feature maps,
filters, curves) are in :mod:`minicnn.plotting`."""
