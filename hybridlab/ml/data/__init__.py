"""Data room: data optimization as a search space over scikit-learn pipeline steps.

* :func:`preprocessing_pipeline`, :func:`preprocessing_space`, :func:`make_preprocessor`,
  :data:`STEPS`, :data:`DEFAULT_STEPS` -- one :class:`~sklearn.pipeline.Pipeline`
  (imputation, outlier clipping, feature extraction, scaling, feature selection,
  dimensionality reduction, outlier-row removal and augmentation around the model) and a
  conditional space over its choices, to search data steps and model hyperparameters
  jointly (e.g. with :class:`hybridlab.ml.search.HybridSearchCV`);
* feature extraction -- the opt-in ``"features"`` step: polynomial features, splines
  (scikit-learn's), or :class:`LogRatioFeatures` (signed log1p, pairwise ratios);
  :func:`feature_extractor` builds one option by hand, :data:`FEATURE_KINDS` names them;
* outliers -- :class:`OutlierClipper` (IQR / z-score clipping, winsorizing: a transformer),
  :class:`DropOutliers` (drops flagged training rows: a meta-estimator);
* augmentation -- :class:`Augment` (tabular noise, mixup), :class:`ImageAugment`,
  :func:`augment_images`, :func:`shift_images` (small images: shifts, flips, noise);
* effects -- :func:`one_at_a_time`, :func:`effects`, :func:`plot_effects`: one technique at
  a time on the same folds, with a corrected resampled t-test.

Nothing here imports torch.

Example
-------
>>> import numpy as np
>>> from hybridlab.ml.data import OutlierClipper
>>> OutlierClipper(method="iqr", factor=1.5).fit_transform(np.array([[1.0], [2.0], [3.0],
...                                                                   [4.0], [100.0]])).ravel()
array([1., 2., 3., 4., 7.])
"""

from ._augment import Augment, ImageAugment, augment_images, shift_images
from ._effects import effects, one_at_a_time, plot_effects
from ._features import FEATURE_KINDS, LogRatioFeatures, feature_extractor
from ._outliers import DropOutliers, OutlierClipper
from ._pipeline import (
    DEFAULT_STEPS,
    STEPS,
    make_preprocessor,
    preprocessing_pipeline,
    preprocessing_space,
)

__all__ = [
    "DEFAULT_STEPS",
    "FEATURE_KINDS",
    "STEPS",
    "Augment",
    "DropOutliers",
    "ImageAugment",
    "LogRatioFeatures",
    "OutlierClipper",
    "augment_images",
    "effects",
    "feature_extractor",
    "make_preprocessor",
    "one_at_a_time",
    "plot_effects",
    "preprocessing_pipeline",
    "preprocessing_space",
    "shift_images",
]
