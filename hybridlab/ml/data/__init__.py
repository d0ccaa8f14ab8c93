"""Data room: data optimization as a search space over scikit-learn pipeline steps.

* :func:`preprocessing_pipeline`, :func:`preprocessing_space`, :func:`make_preprocessor`,
  :data:`STEPS` -- one :class:`~sklearn.pipeline.Pipeline` (imputation, outlier clipping,
  scaling, feature selection, dimensionality reduction, outlier-row removal and
  augmentation around the model) and a conditional space over its choices, to search data
  steps and model hyperparameters jointly (e.g. with
  :class:`hybridlab.ml.search.HybridSearchCV`);
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
from ._outliers import DropOutliers, OutlierClipper
from ._pipeline import STEPS, make_preprocessor, preprocessing_pipeline, preprocessing_space

__all__ = [
    "STEPS",
    "Augment",
    "DropOutliers",
    "ImageAugment",
    "OutlierClipper",
    "augment_images",
    "effects",
    "make_preprocessor",
    "one_at_a_time",
    "plot_effects",
    "preprocessing_pipeline",
    "preprocessing_space",
    "shift_images",
]
