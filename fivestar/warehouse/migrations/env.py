"""Alembic environment: the revisions run on the connection fivestar gives them.

fivestar.warehouse.migrate puts the run's Connection (already inside its transaction) in
`config.attributes["connection"]`; there is no alembic.ini and no URL here. SQLite gets
batch mode (Alembic copies a table to change it where SQLite's ALTER TABLE cannot).
"""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through fivestar: `fivestar db upgrade`")

context.configure(
    connection=connection,
    target_metadata=None,  # revisions are hand-written SQL: no autogenerate
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
