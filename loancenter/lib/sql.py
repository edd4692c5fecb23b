"""Rows read by plain statements, given back as the ORM would give them.

A statement compiled once and run through ``connection.cursor()`` costs a tenth of the CPU of a queryset that builds
its SQL on every call, but the cursor gives the database driver's values: SQLite's datetimes come as naive text,
its booleans as integers, its decimals as floats. The ORM turns them into the model's values with the backend's
converters, then the field's (``SQLCompiler.get_converters``); these helpers apply the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence


def row_converters(connection, columns: Sequence) -> list[tuple[int, list]]:
    """``(position, converters)`` of each of ``columns`` that the ORM converts when it reads it on ``connection``.

    ``columns`` are column expressions: a field's ``cached_col`` or a compiler's ``select``. The answer depends only
    on the backend and the fields, so a caller that reads the same columns on every request may keep it per
    connection (asking costs 60 µs for the user's fifteen columns).
    """
    found = []
    for i, column in enumerate(columns):
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            found.append((i, converters))
    return found


def convert_rows(
    connection, columns: Sequence, rows: list[list], converters: list[tuple[int, list]] | None = None
) -> None:
    """Turn the driver's values in ``rows`` (lists, one value per column) into the ORM's, in place."""
    if converters is None:
        converters = row_converters(connection, columns)
    for i, column_converters in converters:
        column = columns[i]
        for convert in column_converters:
            for row in rows:
                row[i] = convert(row[i], column, connection)
