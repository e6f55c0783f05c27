"""Softmax and cross-entropy (chapter 06).

The output layer gives one score (logit) per class. Softmax turns a row of scores into
probabilities that are positive and sum to 1; cross-entropy measures how little probability the
network gave to the right class: ``-log p[label]``, averaged over the batch.

Their combination has a famously simple gradient with respect to the logits:
``(probs - onehot(labels)) / N``.

Shapes: logits and probs (N, K) for N samples and K classes; labels (N,) integers in [0, K).
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits; a 1-D vector (K,) is one row and gives (K,).

    Subtracting each row's maximum first changes nothing mathematically (it cancels in the
    ratio) but keeps ``exp`` from overflowing for logits in the thousands.
    """
    logits = np.asarray(logits, dtype=np.result_type(logits, np.float32))
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def check_labels(labels, n_samples: int, n_classes: int) -> np.ndarray:
    """Return labels as an int array, or raise a clear error if they do not fit the logits."""
    labels = np.asarray(labels)
    if labels.shape != (n_samples,):
        hint = " (one-hot? use labels.argmax(axis=1))" if labels.shape == (n_samples, n_classes) \
            else ""
        raise ValueError(f"labels must have shape ({n_samples},), one class index per sample, "
                         f"got shape {labels.shape}{hint}")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise _checks.ArgumentError(f"labels must be whole class indices, got dtype "
                                        f"{labels.dtype} with values such as {labels[:3]}")
        labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"labels must lie in [0, {n_classes - 1}] for {n_classes} classes; "
                         f"got {labels[first].item()!r} at index {first}. Check the output "
                         "layer has one unit per class")
    return labels


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the right class.

    Parameters
    ----------
    probs : ndarray, shape (N, K)
        A 1-D ``probs`` raises ValueError naming ``probs``: pass ``probs[None, :]`` for one row.
    labels : ndarray, shape (N,), ints in [0, K)
    """
    probs = _checks.rows("probs", probs, "(N, K)")
    labels = check_labels(labels, *probs.shape)
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.maximum(picked, np.finfo(probs.dtype).tiny))))


def softmax_cross_entropy_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Gradient of the mean cross-entropy of ``softmax(logits)`` with respect to the logits.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
        A 1-D ``logits`` raises ValueError naming ``logits``: pass ``logits[None, :]`` for
        one row.
    labels : ndarray, shape (N,), ints in [0, K)

    Returns
    -------
    dlogits : ndarray, shape (N, K)
        ``(softmax(logits) - onehot(labels)) / N``.
    """
    return softmax_cross_entropy(logits, labels)[1]


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray
                          ) -> tuple[float, np.ndarray]:
    """Loss and its gradient with respect to the logits, in one stable pass.

    Returns
    -------
    loss : float
        Mean cross-entropy of ``softmax(logits)`` against ``labels``.
    dlogits : ndarray, shape (N, K)
        ``(softmax(logits) - onehot(labels)) / N``.
    """
    logits = _checks.rows("logits", logits, "(N, K)")
    n, k = logits.shape
    labels = check_labels(labels, n, k)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_sum
    rows = np.arange(n)
    loss = float(-log_probs[rows, labels].mean())
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1
    dlogits /= n
    return loss, dlogits


class SoftmaxCrossEntropy:
    """The loss layer: softmax of the logits, then mean cross-entropy against integer labels.

    ``ops``, optional: a namespace whose ``softmax_cross_entropy(logits, labels)`` to use
    instead of this module's (:mod:`minicnn.own_code` passes the learner's).
    """

    def __init__(self, ops=None) -> None:
        self.ops = ops

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """logits (N, K), labels (N,) -> mean loss (float)."""
        loss_and_grad = softmax_cross_entropy if self.ops is None else \
            self.ops.softmax_cross_entropy
        loss, self._dlogits = loss_and_grad(logits, labels)
        return loss

    def backward(self) -> np.ndarray:
        """Gradient of the mean loss w.r.t. the logits, shape (N, K)."""
        return self._dlogits
