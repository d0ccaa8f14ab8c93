"""Drift room: re-optimizing when the data distribution changes over time.

* :func:`drift_stream` -- a seeded classification stream with abrupt covariate or concept
  drift at known batches (:class:`DriftStream` keeps the ground truth);
* :class:`FeatureDriftDetector` (KS tests on the features, multiple-testing corrected)
  and :class:`AccuracyDropDetector` (one-sided binomial test on the accuracy) -- one
  interface, ``reset`` and ``update``;
* :func:`reoptimize_stream` -- prequential test-then-train with
  :class:`~hybridlab.ml.search.HybridSearchCV` re-tunes when the detector fires, warm
  started from the previous search or cold, at the same budget; it returns a
  :class:`DriftRecord` (tidy tables and a plot);
* :func:`warm_vs_cold`, :func:`summarize_warm_vs_cold` -- the two side by side over seeds,
  with a paired test.

Nothing here imports torch.

Example
-------
>>> from hybridlab.ml.drift import drift_stream, reoptimize_stream
>>> s = drift_stream("covariate", n_batches=6, batch_size=150, drift_at=(3,), seed=0)
>>> r = reoptimize_stream(s, budget=4, n_warm=2, window=2, optimizer="random", seed=0)
>>> r.drift_points, r.retunes["batch"].tolist()
((3,), [1, 3])
"""

from ._compare import COMPARE_COLUMNS, summarize_warm_vs_cold, warm_vs_cold
from ._detect import AccuracyDropDetector, FeatureDriftDetector
from ._record import BATCH_COLUMNS, RETUNE_COLUMNS, TRIAL_COLUMNS, DriftRecord, trials_to_recover
from ._reoptimize import default_setup, reoptimize_stream
from ._stream import STREAM_KINDS, DriftStream, drift_stream

__all__ = [
    "BATCH_COLUMNS",
    "COMPARE_COLUMNS",
    "RETUNE_COLUMNS",
    "STREAM_KINDS",
    "TRIAL_COLUMNS",
    "AccuracyDropDetector",
    "DriftRecord",
    "DriftStream",
    "FeatureDriftDetector",
    "default_setup",
    "drift_stream",
    "reoptimize_stream",
    "summarize_warm_vs_cold",
    "trials_to_recover",
    "warm_vs_cold",
]
