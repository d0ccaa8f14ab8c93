"""The one torch-internal warning hybridlab holds back, in one place.

torch 2.13 deprecates ``torch.utils._pytree.LeafSpec``, and torch's own export code and
Lightning's pytree helper still build it: a ``FutureWarning`` on every export or first fit
that no caller can act on.  :func:`torch_internal_leafspec` filters exactly that one, by
message; every other warning passes.

>>> import warnings
>>> with torch_internal_leafspec():
...     warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning)
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

__all__ = ["torch_internal_leafspec"]


@contextlib.contextmanager
def torch_internal_leafspec() -> Iterator[None]:
    """Filter torch's LeafSpec ``FutureWarning`` (raised inside torch / Lightning)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)`",
                                category=FutureWarning)
        yield
