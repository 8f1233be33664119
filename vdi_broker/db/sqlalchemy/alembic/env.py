from alembic import context

from vdi_broker.db.sqlalchemy import models

target_metadata = models.Base.metadata


def run_migrations_offline():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    # migration.py hands over a live connection so that tests and
    # 'vdi-broker-manage db sync' use the broker's engine.
    connection = context.config.attributes.get("connection")
    context.configure(connection=connection,
                      target_metadata=target_metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
