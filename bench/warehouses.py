"""Fresh, empty warehouses for the benchmark cases, of one kind, removed afterwards.

In: the kind the user asked for — None (SQLite files under the run folder) or a
PostgreSQL URL (any database on the server; it is only used to connect). Out: a
context manager yielding `urls(name)`: an empty SQLite file, or a schema of its own
inside a database `fivestar_bench_<pid>` created for this bench and dropped (FORCE)
when the bench ends, whatever happens.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def is_postgres(url: str | None) -> bool:
    return bool(url) and make_url(url).get_backend_name() == "postgresql"


@contextmanager
def warehouses(url: str | None, run_dir: Path) -> Iterator[Callable[[str], str]]:
    if not is_postgres(url):
        if url and make_url(url).get_backend_name() != "sqlite":
            raise SystemExit(f"unsupported --warehouse-url {url!r}: use sqlite or postgresql")

        def sqlite_url(name: str) -> str:
            return f"sqlite:///{run_dir / f'{name}.db'}"

        yield sqlite_url
        return
    assert url is not None
    server = make_url(url)
    if server.get_driver_name() != "psycopg":
        server = server.set(drivername="postgresql+psycopg")
    db = f"fivestar_bench_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    bench_url = server.set(database=db)
    made: set[str] = set()

    def pg_url(name: str) -> str:
        if name not in made:
            eng = create_engine(bench_url, isolation_level="AUTOCOMMIT")
            with eng.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
            eng.dispose()
            made.add(name)
        # search_path via libpq options: every connection lands in the schema.
        return bench_url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False
        )

    try:
        yield pg_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
