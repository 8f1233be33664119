#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Database schema migrations (alembic)."""

import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from vdi_broker.db.sqlalchemy import engine as db_engine

ALEMBIC_INI = os.path.join(os.path.dirname(__file__), "sqlalchemy",
                           "alembic.ini")


def _config(connection=None):
    config = alembic_config.Config(ALEMBIC_INI)
    config.set_main_option(
        "script_location",
        os.path.join(os.path.dirname(ALEMBIC_INI), "alembic"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def db_sync(engine=None, revision="head"):
    """Upgrade the schema to ``revision`` (default: the newest)."""
    engine = engine or db_engine.get_engine()
    with engine.begin() as connection:
        alembic_command.upgrade(_config(connection), revision)


def db_version(engine=None):
    """The schema's current revision, or None for an empty database."""
    engine = engine or db_engine.get_engine()
    with engine.connect() as connection:
        return alembic_migration.MigrationContext.configure(
            connection).get_current_revision()


def head_revision():
    return alembic_script.ScriptDirectory.from_config(
        _config()).get_current_head()
