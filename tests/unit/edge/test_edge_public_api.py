"""Guard augur.edge's public surface: every exported name exists and is documented."""

from __future__ import annotations

import augur.edge


def test_edge_surface_is_documented() -> None:
    assert augur.edge.__doc__
    for name in augur.edge.__all__:
        obj = getattr(augur.edge, name)
        assert obj.__doc__, f"augur.edge.{name} has no docstring"
    assert {"export_bundle", "routes", "EdgeHost", "EdgeBrowser"} <= set(augur.edge.__all__)


def test_routes_are_starlette_routes_under_edge(tmp_path: object) -> None:
    from starlette.routing import BaseRoute, Route

    from augur.registry import Registry

    made = augur.edge.routes(Registry(str(tmp_path)))
    assert made and all(isinstance(r, BaseRoute) for r in made)
    assert all(isinstance(r, Route) and r.path.startswith("/edge") for r in made)
