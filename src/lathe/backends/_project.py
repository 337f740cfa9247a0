"""Project files: several sources, related by keys, read as one table of the target's rows.

A project file (TOML) names its sources (a file or glob, or a database URI with a table or
a query), the relationships between them, and the target::

    [sources.customers]
    uri = "postgresql://localhost/test"
    table = "customers"
    [sources.plans]
    uri = "data/plans.csv"            # relative to the project file
    [[relationships]]
    parent = "customers"
    child = "plans"
    on = ["plan_id"]
    [target]
    table = "customers"
    column = "churned"

A child with one row per key is a lookup: its columns join the parent's rows, named
``<child>_<column>``. A child with several rows per key is aggregated per parent row (see
``_aggregates``), after its own children are joined or aggregated into it (depth 2 and more).
With ``cutoff`` in ``[target]`` (a column of the target table, or a fixed time such as
"2013-07-01"), an aggregated child's rows count only when its ``time`` (declared on the
relationship) is before the cut-off of the row they are aggregated into: the target row's
cut-off, or, one level down, the time of the child row; a lookup with a ``time`` after the
cut-off is not joined (its columns are missing for that row). When every source is in the same
database, the joins run there (and so does the profile); otherwise each source streams into
the embedded DuckDB as Arrow batches and the joins run there.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis

from lathe.backends._aggregates import aggregate_child, cut_value
from lathe.backends._databases import connect, describe, is_database, read_database
from lathe.backends._duckdb import close, in_memory, read_source
from lathe.backends._quiet import library_noise
from lathe.backends._spark import read_spark
from lathe.errors import ColumnNotFoundError, ProjectError

SUFFIX = ".toml"
_ROW = "__lathe_row"
_UNTIMED = "__lathe_untimed"  # the cut-off of a table whose rows have no time: nothing below it can be cut


@dataclass(frozen=True)
class SourceSpec:
    """One source of a project: a file or glob, or a database URI with a table or a query."""

    name: str
    uri: str
    table: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class Relationship:
    """``child`` rows belong to ``parent`` rows with the same ``on`` keys; ``time`` dates the child rows."""

    parent: str
    child: str
    on: tuple[str, ...]
    time: str | None = None


@dataclass(frozen=True)
class Project:
    """A parsed, checked project file."""

    path: Path
    sources: dict[str, SourceSpec]
    relationships: tuple[Relationship, ...]
    target_table: str
    target_column: str
    cutoff: str | None = None


def is_project(source: str) -> bool:
    """Whether ``source`` names a project file."""
    return source.lower().endswith(SUFFIX) and not is_database(source)


def read_project(path: str | Path) -> Project:
    """Parse and check the project file at ``path``; every mistake is named with its place in the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such project file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: not valid TOML ({exc})") from None
    sources = {name: _source(path, name, spec) for name, spec in _table(path, data, "sources").items()}
    if not sources:
        raise ProjectError(f"{path}: declares no [sources.NAME]")
    target = _table(path, data, "target")
    relationships = tuple(_relationship(path, i, spec, sources) for i, spec in enumerate(data.get("relationships", [])))
    _check_tree(path, relationships, target.get("table"))
    table, column = target.get("table"), target.get("column")
    if not isinstance(table, str) or table not in sources:
        raise ProjectError(f"{path}: [target] table must name one of the sources ({', '.join(sources)})")
    if not isinstance(column, str):
        raise ProjectError(f"{path}: [target] needs column = the column to predict")
    cutoff = target.get("cutoff")
    return Project(path, sources, relationships, table, column, None if cutoff is None else str(cutoff))


def open_project(project: Project, engine: str = "duckdb", master: str | None = None) -> tuple[str, ibis.Table]:
    """A description of the project and its target table's rows with every child joined or aggregated in.

    Keys are checked before joining: present on both sides, and of comparable kinds. The target
    column may be absent (rows to score); training names it if it is. With ``engine="spark"``,
    every source is read into the SparkSession at ``master`` and the joins run there.
    """
    used = _used(project)
    uris = {project.sources[name].uri for name in used}
    pushed = engine == "duckdb" and len(uris) == 1 and is_database(next(iter(uris)))
    if engine == "spark":
        tables, where = _in_spark(project, used, master), "Spark"
    elif pushed:
        tables, where = _in_database(project, used), describe(next(iter(uris)))
    else:
        tables, where = _in_duckdb(project, used), "the embedded DuckDB"
    base = tables[project.target_table]
    numbered = base.mutate(**{_ROW: ibis.row_number()})
    joined = _attach(project, project.target_table, numbered, tables, _cutoff(project, base))
    where = f"joined in {where}"
    return f"{project.path} ({len(used)} sources, {where})", joined.order_by(_ROW).drop(_ROW)


def _used(project: Project) -> list[str]:
    used = [project.target_table]
    for name in used:
        used += [r.child for r in project.relationships if r.parent == name and r.child not in used]
    return used


def _in_database(project: Project, used: list[str]) -> dict[str, ibis.Table]:
    uri = project.sources[used[0]].uri
    connection = connect(uri)
    return {
        name: read_database(uri, project.sources[name].table, project.sources[name].query, connection) for name in used
    }


def _in_duckdb(project: Project, used: list[str]) -> dict[str, ibis.Table]:
    con = in_memory()
    for name in used:
        spec = project.sources[name]
        rows = (
            read_database(spec.uri, spec.table, spec.query)
            if is_database(spec.uri)
            else read_source(spec.uri, spec.table)
        )
        with library_noise():
            con.register("batches", rows.to_pyarrow_batches())
            con.execute(f"CREATE TABLE {_identifier(name)} AS SELECT * FROM batches")
        con.unregister("batches")
        close(rows)
    backend = ibis.duckdb.from_connection(con)
    return {name: backend.table(name) for name in used}


def _in_spark(project: Project, used: list[str], master: str | None) -> dict[str, ibis.Table]:
    return {
        name: read_spark(project.sources[name].uri, project.sources[name].table, project.sources[name].query, master)[1]
        for name in used
    }


def _identifier(name: str) -> str:
    """``name`` quoted as a SQL identifier, whatever it holds."""
    return '"' + name.replace('"', '""') + '"'


def _cutoff(project: Project, base: ibis.Table) -> str | datetime | None:
    """The target rows' cut-off: a column of the target table, or a fixed time."""
    if project.cutoff is None or project.cutoff in base.columns:
        return project.cutoff
    try:
        return datetime.fromisoformat(project.cutoff)
    except ValueError:
        raise ProjectError(
            f"{project.path}: [target] cutoff = {project.cutoff!r} is neither a column of {project.target_table} "
            "nor a time such as 2013-07-01T00:00:00"
        ) from None


def _attach(
    project: Project, name: str, table: ibis.Table, tables: dict[str, ibis.Table], cut: str | datetime | None
) -> ibis.Table:
    """``table`` (the source ``name``) with its children joined in (lookups) or aggregated (several rows per key)."""
    for relation in (r for r in project.relationships if r.parent == name):
        below = cut if cut is None or isinstance(cut, datetime) else relation.time or _UNTIMED
        child = _attach(project, relation.child, tables[relation.child], tables, below)
        _check_keys(relation, table, child)
        rows = child.count().to_pyarrow().as_py()
        keys = child.select(*relation.on).distinct().count().to_pyarrow().as_py()
        if keys == rows:
            table = _look_up(table, child, relation, None if cut == _UNTIMED else cut)
        elif cut == _UNTIMED:
            raise ProjectError(
                f"{relation.child} is aggregated into {name}, whose rows have no time to cut it off by: declare "
                f"time on the relationship of {name} to its parent"
            )
        else:
            keys = frozenset(key for r in project.relationships for key in r.on)
            table = aggregate_child(table, child, relation.child, relation.on, relation.time, cut, keys)
    return table


def _look_up(table: ibis.Table, child: ibis.Table, relation: Relationship, cut: str | datetime | None) -> ibis.Table:
    """``table`` with the columns of ``child`` (one row per key) joined in as ``<child>_<column>``;
    with a cut-off and the relationship's ``time``, a child row after the cut-off is not joined."""
    renamed = child.rename({f"{relation.child}_{c}": c for c in child.columns if c not in relation.on})
    added = [c for c in renamed.columns if c not in relation.on]
    if cut is None or relation.time is None:
        return table.left_join(renamed, list(relation.on)).select(*table.columns, *added)
    when = renamed[f"{relation.child}_{relation.time}"].cast("timestamp")
    matches = [table[key] == renamed[key] for key in relation.on]
    joined = table.left_join(renamed, [*matches, when < cut_value(table, cut)])
    return joined.select(*(joined[c] for c in table.columns), *(joined[c] for c in added))


def _check_keys(relation: Relationship, parent: ibis.Table, child: ibis.Table) -> None:
    for side, rows in ((relation.parent, parent), (relation.child, child)):
        for key in relation.on:
            if key not in rows.columns:
                raise ProjectError(
                    str(ColumnNotFoundError.for_name(key, list(rows.columns), what=f"join key of {side}:"))
                )
    for key in relation.on:
        left, right = parent[key].type(), child[key].type()
        if (left.is_numeric(), left.is_string(), left.is_temporal()) != (
            right.is_numeric(), right.is_string(), right.is_temporal()
        ):  # fmt: skip
            raise ProjectError(
                f"join key {key} is {left} in {relation.parent} but {right} in {relation.child}; "
                "store it as the same kind in both"
            )


def _check_tree(path: Path, relationships: tuple[Relationship, ...], root: object) -> None:
    children = [r.child for r in relationships]
    twice = sorted({c for c in children if children.count(c) > 1})
    if twice:
        raise ProjectError(f"{path}: {', '.join(twice)} is the child of two relationships; each source has one parent")
    if root in children:
        raise ProjectError(f"{path}: the target table {root} cannot be a child; relationships lead away from it")


def _table(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ProjectError(
            f"{path}: needs a [{key}] table" + (" ([sources.NAME] for each source)" if key == "sources" else "")
        )
    return value


def _source(path: Path, name: str, spec: Any) -> SourceSpec:
    if not isinstance(spec, dict) or not isinstance(spec.get("uri"), str):
        raise ProjectError(f"{path}: [sources.{name}] needs uri = a file, a glob or a database URI")
    unknown = set(spec) - {"uri", "table", "query"}
    if unknown:
        raise ProjectError(
            f"{path}: [sources.{name}] has unknown keys {', '.join(sorted(unknown))}; use uri, table, query"
        )
    uri = spec["uri"]
    if not is_database(uri) and not Path(uri).is_absolute():
        uri = str(path.parent / uri)
    return SourceSpec(name, uri, spec.get("table"), spec.get("query"))


def _relationship(path: Path, index: int, spec: Any, sources: dict[str, SourceSpec]) -> Relationship:
    where = f"{path}: relationship {index + 1}"
    if not isinstance(spec, dict):
        raise ProjectError(f"{where}: write it as [[relationships]] with parent, child and on")
    for side in ("parent", "child"):
        if spec.get(side) not in sources:
            raise ProjectError(f"{where}: {side} must name one of the sources ({', '.join(sources)})")
    on = spec.get("on")
    on = [on] if isinstance(on, str) else on
    if not on or not isinstance(on, list) or not all(isinstance(k, str) for k in on):
        raise ProjectError(f'{where}: on must list the key column(s), such as on = ["customer_id"]')
    return Relationship(spec["parent"], spec["child"], tuple(on), spec.get("time"))
