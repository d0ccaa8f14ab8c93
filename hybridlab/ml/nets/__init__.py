"""Networks room: torch models built from a plain configuration, and searches over them.

* builders -- :class:`NetConfig` (depth, widths, kernels, per-layer activations, pooling,
  normalization, dropout, residual connections, shared blocks), :func:`build_mlp`,
  :func:`build_cnn`, :func:`build_net`, :func:`as_config`, :class:`Net` and its
  :class:`Block`, :func:`count_parameters`; :data:`NORMS`, :data:`POOLINGS`;
* activations -- :func:`make_activation`, :data:`ACTIVATION_NAMES`, and adaptive
  selection: the DARTS-style :class:`MixedActivation`, :func:`mixed_activations`,
  :func:`arch_parameters`, :func:`derive_activations`;
* weight tying -- :class:`TiedAutoencoder`, :class:`TinySequenceModel` (tied embeddings),
  :func:`shares_storage`, :func:`tying_report`;
* architecture search (NAS) -- not a separate engine but a :class:`~hybridlab.Space` over
  these configs searched by any hybrid: :func:`architecture_space` (a conditional space),
  :func:`config_from_params`, :func:`nas_problem` (:class:`NASObjective`,
  :class:`ParamsConstraint`), :func:`nas_compare`.

Example
-------
>>> import torch
>>> from hybridlab.ml.nets import build_cnn, count_parameters
>>> _ = torch.manual_seed(0)
>>> net = build_cnn({"depth": 2, "widths": (4, 8), "kernel_sizes": (3, 5)})
>>> net(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
>>> count_parameters(net)
1178
"""

from ._activations import (
    ACTIVATION_NAMES,
    MixedActivation,
    arch_parameters,
    derive_activations,
    make_activation,
    mixed_activations,
)
from ._builders import (
    NORMS,
    POOLINGS,
    Block,
    Net,
    NetConfig,
    as_config,
    build_cnn,
    build_mlp,
    build_net,
    count_parameters,
)
from ._nas import (
    NASObjective,
    ParamsConstraint,
    architecture_space,
    config_from_params,
    nas_compare,
    nas_problem,
)
from ._tying import TiedAutoencoder, TinySequenceModel, shares_storage, tying_report

__all__ = [
    "ACTIVATION_NAMES",
    "NORMS",
    "POOLINGS",
    "Block",
    "MixedActivation",
    "NASObjective",
    "Net",
    "NetConfig",
    "ParamsConstraint",
    "TiedAutoencoder",
    "TinySequenceModel",
    "arch_parameters",
    "architecture_space",
    "as_config",
    "build_cnn",
    "build_mlp",
    "build_net",
    "config_from_params",
    "count_parameters",
    "derive_activations",
    "make_activation",
    "mixed_activations",
    "nas_compare",
    "nas_problem",
    "shares_storage",
    "tying_report",
]
