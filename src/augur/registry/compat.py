"""Whether one version can stand in for another behind an alias.

Clients of an alias were written against the signature of the version it points
at: they send its columns (records) or its input tensors and read its outputs by
name. A move to a version that no longer takes those, or no longer returns those
outputs, breaks every such client at once, so ``Registry.set_alias`` refuses it
unless forced.
"""

from __future__ import annotations

from augur.signature import Signature, TensorSpec


def _shape_fits(old: TensorSpec, new: TensorSpec) -> bool:
    if len(old.shape) != len(new.shape):
        return False
    # a fixed dimension may become free (-1); a free one may not become fixed
    return all(n < 0 or n == o for o, n in zip(old.shape, new.shape, strict=True))


def incompatibilities(old: Signature, new: Signature) -> list[str]:
    """What clients of ``old`` would find broken in ``new`` (empty: compatible).

    Record clients need every column of ``old`` with the same kind (new columns
    are fine only if nullable); tensor clients need every input tensor with the
    same datatype and a shape that still accepts theirs; every output of ``old``
    must still exist with the same datatype.
    """
    problems: list[str] = []
    if old.columns:
        if not new.columns:
            problems.append("it takes tensors, not records: clients sending records "
                            f"({', '.join(c.name for c in old.columns)}) would be refused")
        else:
            kinds = {c.name: c for c in new.columns}
            for col in old.columns:
                same = kinds.get(col.name)
                if same is None:
                    problems.append(f"column {col.name!r} is gone")
                elif same.kind != col.kind:
                    problems.append(f"column {col.name!r} is {same.kind}, was {col.kind}")
            known = {c.name for c in old.columns}
            extra = [c.name for c in new.columns if c.name not in known and not c.nullable]
            if extra:
                problems.append(f"new required column(s) {', '.join(map(repr, extra))}")
    else:
        tensors = {t.name: t for t in new.inputs}
        for spec in old.inputs:
            got = tensors.get(spec.name)
            if got is None:
                problems.append(f"input {spec.name!r} is gone")
            elif got.datatype != spec.datatype:
                problems.append(f"input {spec.name!r} is {got.datatype}, was {spec.datatype}")
            elif not _shape_fits(spec, got):
                problems.append(f"input {spec.name!r} has shape {list(got.shape)}, "
                                f"was {list(spec.shape)}")
    outputs = {t.name: t for t in new.outputs}
    for spec in old.outputs:
        got = outputs.get(spec.name)
        if got is None:
            problems.append(f"output {spec.name!r} is gone")
        elif got.datatype != spec.datatype:
            problems.append(f"output {spec.name!r} is {got.datatype}, was {spec.datatype}")
    return problems
