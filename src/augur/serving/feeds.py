"""A decoded request's data as the feeds of one model version.

One function for every protocol, run after enrichment and before batching:

- rows and records (the plain JSON endpoint) convert by the signature's columns;
- tensors named after the model's inputs are held to the signature (strictly: a
  declared datatype other than the model's is refused unless the model's settings
  allow conversion);
- tensors named after the signature's columns, one element per row (the way
  pandas-style v2 clients send a table), convert like records.
"""

from __future__ import annotations

import numpy as np

from augur.errors import InvalidInput
from augur.runtime import to_feeds
from augur.serving.loaded import LoadedVersion
from augur.serving.types import InferenceRequest


def request_feeds(model: LoadedVersion, request: InferenceRequest) -> dict[str, np.ndarray]:
    """The validated feeds of ``request`` for ``model``.

    Raises:
        InvalidInput: the data does not match the model's signature; the message
            names the input or column, what was expected and what came.
    """
    signature = model.model.signature
    if request.instances is not None:
        return to_feeds(signature, request.instances, model.validator.records)
    feeds: dict[str, np.ndarray] = {}
    for tensor in request.inputs:
        if tensor.name in feeds:
            raise InvalidInput(f"input {tensor.name!r} is given twice")
        feeds[tensor.name] = tensor.data
    validator = model.validator
    if feeds.keys() != validator.names and signature.columns and \
            feeds.keys() <= {c.name for c in signature.columns}:
        columns = {name: arr.reshape(-1) for name, arr in feeds.items()}
        return to_feeds(signature, columns)
    checked: dict[str, np.ndarray] = validator.check(feeds, strict=model.strict_datatypes)
    return checked
