"""What the Models page shows: a searched, paginated listing and one model's whole story.

Everything here reads the registry's public API (:class:`~augur.registry.Registry`,
:class:`~augur.registry.TuningCache`) and returns plain JSON-ready dicts; nothing is
stored by the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augur.errors import InvalidInput
from augur.registry import ModelInfo, ModelVersion, Registry, TuningCache, validate_name

#: Most models on one page of the listing.
MAX_PER_PAGE = 200
#: Longest search text accepted (a name is at most a few dozen characters).
MAX_QUERY = 200


@dataclass(frozen=True)
class ModelQuery:
    """One request for the model listing.

    Attributes:
        text: case-insensitive substring of the name or description ("" for all).
        page: 1-based page number.
        per_page: models per page (1..:data:`MAX_PER_PAGE`).
    """

    text: str = ""
    page: int = 1
    per_page: int = 50

    @classmethod
    def parse(cls, params: dict[str, str]) -> ModelQuery:
        """Read ``q``, ``page`` and ``per_page`` from query parameters.

        Raises:
            InvalidInput: a number is not a positive integer in range, or ``q`` is too long
                or holds control characters.
        """
        text = params.get("q", "").strip()
        if len(text) > MAX_QUERY:
            raise InvalidInput(f"the search text is {len(text)} characters; at most "
                               f"{MAX_QUERY} are accepted")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise InvalidInput("the search text holds control characters")
        page = _positive(params, "page", 1, 1_000_000)
        per_page = _positive(params, "per_page", 50, MAX_PER_PAGE)
        return cls(text, page, per_page)


def _positive(params: dict[str, str], name: str, default: int, top: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: int() would also take "٣" or " 3" or "+3".
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise InvalidInput(f"{name} must be a whole number from 1 to {top}, got {raw[:20]!r}")
    value = int(raw)
    if not 1 <= value <= top:
        raise InvalidInput(f"{name} must be a whole number from 1 to {top}, got {value}")
    return value


def _matches(info: ModelInfo, text: str) -> bool:
    return text in info.name.lower() or text in info.description.lower()


def search_models(registry: Registry, query: ModelQuery) -> dict[str, Any]:
    """One page of the models whose name or description contains the search text.

    Returns:
        ``{"total", "page", "per_page", "pages", "query", "models": [...]}``; each model
        is :meth:`ModelInfo.to_dict`. ``total`` counts every match, not only this page.
    """
    text = query.text.lower()
    found = [m for m in registry.list_models() if not text or _matches(m, text)]
    start = (query.page - 1) * query.per_page
    pages = max(1, -(-len(found) // query.per_page))
    return {"total": len(found), "page": query.page, "per_page": query.per_page,
            "pages": pages, "query": query.text,
            "models": [m.to_dict() for m in found[start:start + query.per_page]]}


def _tuning(cache: TuningCache, version: ModelVersion) -> list[dict[str, Any]]:
    results = []
    for entry in cache.for_artifact(version.artifact):
        full = cache.get(version.artifact, entry["hardware"], entry["runtime_version"])
        if full is not None:
            results.append({"hardware": entry["hardware"],
                            "runtime_version": entry["runtime_version"],
                            "options": full["options"], "report": full["report"],
                            "created_at": full["created_at"]})
    return results


def _version_doc(version: ModelVersion, children: list[str],
                 tuning: list[dict[str, Any]]) -> dict[str, Any]:
    doc = version.to_dict()
    derivation = version.derivation or {}
    doc["ref"] = version.ref
    doc["method"] = derivation.get("method")
    doc["report"] = derivation.get("report")
    doc["children"] = children
    doc["tuning"] = tuning
    return doc


def model_detail(registry: Registry, name: str) -> dict[str, Any]:
    """Everything the console shows about one model.

    Returns:
        ``{"name", "description", "aliases": {alias: {"version", "history"}},
        "versions": [...]}``, versions newest first; each version is
        :meth:`ModelVersion.to_dict` plus ``ref``, ``method`` (how it was derived),
        ``report`` (its compression report, if any), ``children`` (versions derived
        from it) and ``tuning`` (cached tuning results of its artifact).

    Raises:
        InvalidName: the name is not a model name.
        ModelNotFound: no such model.
    """
    validate_name(name)
    versions = registry.versions(name)
    children: dict[int, list[str]] = {}
    for v in versions:
        if v.parent is not None and v.parent.name == name and v.parent.version is not None:
            children.setdefault(v.parent.version, []).append(v.ref)
    cache = TuningCache(registry.db)
    aliases = {alias: {"version": number, "history": registry.alias_history(name, alias)}
               for alias, number in registry.aliases(name).items()}
    info = next((m for m in registry.list_models() if m.name == name), None)
    return {"name": name, "description": info.description if info else "",
            "aliases": aliases,
            "versions": [_version_doc(v, children.get(v.version, []), _tuning(cache, v))
                         for v in reversed(versions)]}
