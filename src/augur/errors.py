"""The augur error hierarchy.

Every error augur raises on purpose derives from :class:`AugurError`. Transports
(HTTP, gRPC, the CLI) each keep one table from these classes to a status code;
core code only raises them. Third-party errors are translated at the boundary
where they occur and raised ``from`` the original.
"""

from __future__ import annotations


class AugurError(Exception):
    """Root of every error augur raises deliberately."""


class InvalidName(AugurError, ValueError):
    """A model, alias or feature name is not allowed."""


class InvalidReference(AugurError, ValueError):
    """A model reference (``name``, ``name:3``, ``name@alias``) cannot be parsed."""


class ModelNotFound(AugurError, LookupError):
    """No model, version or alias matches a reference."""


class InvalidArtifact(AugurError, ValueError):
    """A file handed in as a model is not a loadable ONNX artifact."""


class ExportFailed(AugurError):
    """A framework model could not be converted to ONNX."""


class ParityError(ExportFailed):
    """The exported model disagrees with the original beyond the tolerance."""


class InvalidInput(AugurError, ValueError):
    """Prediction input does not match the model's signature."""


class ModelNotReady(AugurError):
    """The model exists but cannot serve right now (loading, failed, unloaded)."""


class Overloaded(AugurError):
    """A queue is full; the caller should back off and retry."""


class RequestTimeout(AugurError):
    """A request waited longer than its deadline."""


class Unauthorized(AugurError):
    """A request lacks the credentials an endpoint requires."""


class Forbidden(Unauthorized):
    """The credentials are valid but not for this endpoint (an inference token on an
    admin route)."""


class StoreError(AugurError):
    """A prediction, feature or metadata store failed."""


class FeatureUnavailable(AugurError, LookupError):
    """A feature value is missing and has no default."""


class IncompatibleSignature(AugurError):
    """A move would point an alias at a version its clients cannot call the same way."""


class ConfigError(AugurError, ValueError):
    """A setting or a command-line option has an invalid value."""


class ServiceUnavailable(AugurError):
    """An external service (database, broker, cluster) cannot be reached."""


class PredictionNotFound(AugurError, LookupError):
    """No stored prediction matches a (model, key), or none is fresh enough."""


class PredictionFailed(PredictionNotFound):
    """No stored prediction because a batch run's row for the key failed.

    Attributes:
        failure: which run and row failed, and why (``run_id``, ``row``, ``reason``...).
    """

    def __init__(self, message: str, failure: dict[str, object]) -> None:
        super().__init__(message)
        self.failure = failure


class CompressionFailed(AugurError):
    """A compression method cannot be applied to a model (or its tool failed)."""


class QualityGateFailed(AugurError):
    """A compressed version lost more quality than allowed; it was not registered."""
