"""The migration graph can be taken back on SQLite without losing columns (docs/decisions.md, "Taking the schema back
on SQLite").

Going back, Django reverses each migration from the state "before it" in the order of the forward plan from an empty
database, while it reverses them in the order of the backward plan. Where two parallel migrations (leaves later
merged) touch one model, the two orders can disagree: a migration is then reversed from a state that lacks a
migration still applied in the database, and on SQLite, which remakes a table to alter it, the remade table lacks
that migration's columns and indexes (their data is lost; a later reversal then fails with "no such column"). This
checks, for every target one can migrate back to, that no reversal touches a model that such a missing migration
changes. Only the graph is read (no database), so it is fast.
"""

from __future__ import annotations

from django.db.migrations import operations as ops
from django.db.migrations.loader import MigrationLoader

# Operations that change nothing in a table (a table remade without them is the same table).
NO_TABLE_CHANGE = (ops.AlterModelOptions, ops.AlterModelManagers, ops.RunPython, ops.RunSQL)


def models_changed(migration) -> set[tuple[str, str]]:
    changed = set()
    for op in migration.operations:
        if isinstance(op, NO_TABLE_CHANGE):
            continue
        names = [getattr(op, attr, None) for attr in ("model_name", "name", "old_name", "new_name")]
        if isinstance(op, (ops.AddField, ops.RemoveField, ops.AlterField, ops.RenameField, ops.AddIndex,
                           ops.RemoveIndex, ops.RenameIndex, ops.AddConstraint, ops.RemoveConstraint)):
            names = [op.model_name]
        changed |= {(migration.app_label, name.lower()) for name in names if name}
    return changed


def backward_plan(graph, target: tuple[str, str | None]) -> list[tuple[str, str]]:
    """What ``migrate <app> <name>`` reverses on a database that has applied everything (as Django's executor)."""
    if target[1] is None:
        starts = sorted(node for node in graph.root_nodes() if node[0] == target[0])
    else:
        starts = sorted(node for node in graph.node_map[target].children if node[0] == target[0])
    plan, seen = [], set()
    for start in starts:
        for node in graph.backwards_plan(start):
            if node not in seen:
                seen.add(node)
                plan.append(node)
    return plan


def test_no_reversal_remakes_a_table_from_a_state_missing_a_still_applied_migration():
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    full, seen = [], set()
    for leaf in graph.leaf_nodes():
        for node in graph.forwards_plan(leaf):
            if node not in seen:
                seen.add(node)
                full.append(node)
    position = {node: i for i, node in enumerate(full)}
    changed = {node: models_changed(graph.nodes[node]) for node in full}

    found = set()
    targets = sorted(graph.nodes) + sorted({(app, None) for app, _ in graph.nodes})
    for target in targets:
        still_applied = set(full)
        for node in backward_plan(graph, target):
            still_applied.discard(node)
            for other in still_applied:
                common = changed[node] & changed[other]
                if position[other] > position[node] and common:
                    found.add(f"{'.'.join(node)} is reversed without {'.'.join(other)}: {sorted(common)}")
    assert not found, "\n".join(sorted(found))
