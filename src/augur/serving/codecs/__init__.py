"""Codecs: each wire format in, one :class:`~augur.serving.types.InferenceRequest` out.

- :mod:`~augur.serving.codecs.v2_json`: Open Inference Protocol v2 over HTTP, JSON
  bodies and the binary tensor extension;
- :mod:`~augur.serving.codecs.v2_grpc`: the same protocol over gRPC;
- :mod:`~augur.serving.codecs.plain_json`: ``{"instances": [...]}`` rows and records.

Decoders check every size a request declares against the bytes it sent before they
allocate anything, and hold each tensor to the datatype it declares; encoders turn an
:class:`~augur.serving.types.InferenceResponse` back into the same wire format. The
transports (:mod:`augur.serving.rest`, :mod:`augur.serving.grpc_server`) only read
bytes, call a codec and the data plane, and write bytes.
"""

from __future__ import annotations
