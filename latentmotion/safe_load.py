"""Read torch files without running code: tensors and plain containers only.

`torch.load(weights_only=True)` refuses a file whose pickle would build other objects (and could
run code while doing so); its message then advises retrying with `weights_only=False`, which is
exactly what must never be done with a file of unknown origin. [load_weights_only][latentmotion.safe_load.load_weights_only]
reports such a file as refused, and every other failure as a corrupt file, each as one
[CheckpointError][latentmotion.errors.CheckpointError].
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

from latentmotion.errors import CheckpointError, one_line


def load_weights_only(source: str | os.PathLike[str] | io.BytesIO, *, what: str, map_location: Any = "cpu") -> Any:
    """`torch.load(source, weights_only=True)`, its failures as one-line typed errors.

    Args:
        source: A torch file, or its bytes.
        what: What the file is, for messages (e.g. `"checkpoint run/checkpoint.pt"`).
        map_location: Where tensors go, as `torch.load` takes it.

    Returns:
        What the file holds.

    Raises:
        CheckpointError: The file holds objects other than tensors and plain containers (it is
            refused, never loaded), or it is corrupt or truncated.
    """
    import torch

    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{what} is refused: it holds pickled Python objects besides tensors, and loading them could run code; "
            "use a file of plain tensors (a state dict, or safetensors) from a source you trust"
        ) from None
    except Exception as error:
        raise CheckpointError(f"{what} is corrupt or truncated ({type(error).__name__}: {one_line(error)})") from None
