"""Integer sequences in, int64 numpy out: the input checks every part of the ids layer shares.

torch is never imported here: a value can only be a tensor if torch is already loaded, so the ids
layer stays cheap to import for processes that never touch a model.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..errors import TokenizationError

_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (False without importing torch when it is not loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def as_ids(ids: Any) -> np.ndarray:
    """Any 1-D integer sequence (list, numpy array, torch tensor) -> int64 ``[N]``; ids past int64 are clipped.

    Raises:
        TokenizationError: not 1-D, or not integers.
    """
    if is_tensor(ids):
        if ids.dtype.is_floating_point or ids.dtype.is_complex or str(ids.dtype) == "torch.bool":
            raise TokenizationError(f"ids must be integers, got a tensor of dtype {ids.dtype}")
        ids = ids.detach().cpu().numpy()
    try:
        array = np.asarray(ids)
    except (TypeError, ValueError, OverflowError) as error:
        raise TokenizationError(f"ids must be a 1-D sequence of integers ({error})") from None
    if array.ndim != 1:
        raise TokenizationError(f"ids must be a 1-D sequence, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind in "fO" and not isinstance(ids, np.ndarray):  # e.g. a list with ints past int64
        array = np.empty(len(array), dtype=object)
        array[:] = list(ids)
    if array.dtype == object:
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in array):
            raise TokenizationError("ids must be integers, got a sequence holding other objects")
        return np.array([min(max(int(x), _INT64_MIN), _INT64_MAX) for x in array], dtype=np.int64)
    if array.dtype.kind == "u" and array.dtype.itemsize == 8:
        array = np.minimum(array, _INT64_MAX)
    elif array.dtype.kind not in "iu":
        raise TokenizationError(f"ids must be integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)
