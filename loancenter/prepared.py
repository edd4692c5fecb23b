"""Reads compiled to SQL once per process: the loan page's hot reads (issue 7 part 5).

Django builds a queryset's SQL again on every evaluation, 0.3–2 ms of Python a query (a loan with its customer,
product and officer: 2.0 ms to compile, 0.3 ms to run). A :class:`PreparedRead` is a queryset written as usual,
with its varying values (a loan's id) as parameters. The first call for a key builds it with stand-in values,
lets Django compile it, and notes where the stand-ins sit among the statement's parameters; every later call runs
that statement with the real values and builds the instances as ``QuerySet.__iter__`` does: the same columns, the
same converters, the same ``Model.from_db``, ``select_related`` objects included. Nothing is cached but the SQL:
every call reads the database.

The key names everything the queryset depends on besides its parameters: for a read in a user's scope, the
parts of the user the scope reads (see ``applications.selectors.scope_key``). The statements are kept per
process and database alias, at most ``LIMIT`` per read.

This leans on the compiler's internals that ``QuerySet.__iter__`` itself uses (``SQLCompiler.select``,
``klass_info``, ``col_count``; ``get_related_populators``). tests/loancenter/test_prepared.py compares every
prepared read with its queryset, field by field, on SQLite and PostgreSQL, so a Django upgrade that changes them
fails there first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Field, Model, QuerySet
from django.db.models.query import get_related_populators

from loancenter.lib.sql import convert_rows, fetch_all, row_converters

LIMIT = 1000
_STAND_IN = -8_640_000_000_000_000_000  # below any id and within a 64-bit integer: nobody's real value


class _Statement(NamedTuple):
    sql: str
    params: tuple
    slots: tuple[tuple[int, ...], ...]  # for each parameter of the read, its places among ``params``
    constants: frozenset[int]  # the places of the other parameters (the same on every call)
    model: type[Model]
    init_list: list[str]
    start: int
    end: int
    populators: list
    annotations: dict[str, int]
    columns: list  # the selected column expressions
    converters: list[tuple[int, list]]  # loancenter.lib.sql.row_converters of ``columns``


class PreparedRead:
    """``read(context, *values)`` → the list that ``build(context, *values)`` would give, without compiling it.

    ``build`` returns a queryset (no ``prefetch_related``, no ``values()``); ``fields`` are the model fields its
    parameters are compared with, in order (an integer outside a field's range matches nothing, as in the ORM);
    ``key(context)`` is what the queryset depends on besides the parameters (``None``: the context is not read).
    """

    def __init__(self, build: Callable[..., QuerySet], fields: Sequence[Field],
                 key: Callable[[Any], Hashable] | None = None):
        if not fields:
            raise ValueError("a prepared read has at least one parameter")
        self.build = build
        self.fields = tuple(fields)
        self.key = key
        self._statements: dict[tuple, _Statement | None] = {}

    def __call__(self, context: Any, *values: int) -> list[Model]:
        if len(values) != len(self.fields):
            raise TypeError(f"expected {len(self.fields)} values, got {len(values)}")
        alias = router.db_for_read(self.fields[0].model)
        connection = connections[alias]
        values = tuple(self._checked(connection, field, value) for field, value in zip(self.fields, values, strict=True))
        if None in values:
            return []  # outside the column's range: no row can match
        key = (alias, connection.vendor, self.key(context) if self.key else None)
        statement = self._statements.get(key, False)
        if statement is False:
            if len(self._statements) >= LIMIT:
                self._statements.clear()
            statement = self._statements[key] = self._prepare(context, alias)
        if statement is None:
            return []  # the queryset can match nothing (an empty scope)
        params = list(statement.params)
        for places, value in zip(statement.slots, values, strict=True):
            for place in places:
                params[place] = value
        rows = fetch_all(connection, statement.sql, params, constants=statement.constants)
        return self._instances(statement, rows, alias, connection)

    def first(self, context: Any, *values: int) -> Model | None:
        found = self(context, *values)
        return found[0] if found else None

    # -------------------------------------------------------------------------------------------------------------

    @staticmethod
    def _checked(connection, field: Field, value: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            value = int(value)  # a URL's digits; anything else raises ValueError/TypeError, as the ORM would
        low, high = connection.ops.integer_field_range(field.target_field.get_internal_type()
                                                       if field.is_relation else field.get_internal_type())
        if (low is not None and value < low) or (high is not None and value > high):
            return None
        return value

    def _prepare(self, context: Any, alias: str) -> _Statement | None:
        stand_ins = [_STAND_IN - i for i in range(len(self.fields))]
        queryset = self.build(context, *stand_ins)
        if queryset._prefetch_related_lookups or queryset._iterable_class.__name__ != "ModelIterable":
            raise ValueError("a prepared read returns plain model instances (no prefetch_related, no values())")
        compiler = queryset.query.get_compiler(using=alias)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return None
        slots = tuple(tuple(i for i, p in enumerate(params) if p == s) for s in stand_ins)
        if not all(slots):
            raise ValueError("every parameter of a prepared read must reach the statement")
        klass_info, select = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        columns = [column for column, _sql, _alias in select[: compiler.col_count]]
        return _Statement(
            sql=sql, params=tuple(params), slots=slots, model=klass_info["model"],
            constants=frozenset(range(len(params))) - {place for places in slots for place in places},
            init_list=[column[0].target.attname for column in select[start:end]], start=start, end=end,
            populators=get_related_populators(klass_info, select, alias),
            annotations=dict(compiler.annotation_col_map or {}), columns=columns,
            converters=row_converters(connections[alias], columns),
        )

    @staticmethod
    def _instances(statement: _Statement, rows: list, alias: str, connection) -> list[Model]:
        rows = [list(row[: len(statement.columns)]) for row in rows]
        convert_rows(connection, statement.columns, rows, statement.converters)  # as the ORM converts them
        instances = []
        for row in rows:
            instance = statement.model.from_db(alias, statement.init_list, row[statement.start:statement.end])
            for populator in statement.populators:
                populator.populate(row, instance)
            for name, place in statement.annotations.items():
                setattr(instance, name, row[place])
            instances.append(instance)
        return instances
