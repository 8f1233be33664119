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

"""Models and alembic migrations agree, on every supported backend."""

import os
import shutil
import subprocess
import sys

import fixtures
from oslo_db.sqlalchemy import engines
from oslo_db.sqlalchemy import test_migrations

from tests import base
from tests.fixtures import database
from vdi_broker.db import migration
from vdi_broker.db.sqlalchemy import models


class _ModelsMigrationsSync(test_migrations.ModelsMigrationsSync):
    """Walk the migrations from an empty database to head, then compare."""

    backend = None

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(
            database.Database(self.backend, migrate=False))
        self.engine = self.database.engine
        if self.backend == "sqlite":
            # The fixture's SQLite engine serializes writers (BEGIN
            # IMMEDIATE, as the broker does); oslo.db's cleanup
            # (drop_all_objects) reflects on a second connection while the
            # first one holds the write lock, so it would wait for itself.
            # The schema comparison needs none of that: a plain engine.
            self.engine = engines.create_engine(self.database.url)
            self.addCleanup(self.engine.dispose)

    def get_engine(self):
        return self.engine

    def get_metadata(self):
        return models.Base.metadata

    def db_sync(self, engine):
        self.assertIsNone(migration.db_version(engine))
        migration.db_sync(engine)
        self.assertEqual(migration.head_revision(),
                         migration.db_version(engine))


class TestModelsMigrationsSQLite(_ModelsMigrationsSync, base.TestCase):
    backend = "sqlite"


class TestModelsMigrationsMySQL(_ModelsMigrationsSync, base.TestCase):
    backend = "mysql"


class TestModelsMigrationsPostgreSQL(_ModelsMigrationsSync, base.TestCase):
    backend = "postgresql"


def _manage_command():
    """vdi-broker-manage of the interpreter running the tests."""
    candidate = os.path.join(os.path.dirname(sys.executable),
                             "vdi-broker-manage")
    if os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("vdi-broker-manage")


class TestManageDbSync(base.TestCase):
    """vdi-broker-manage db sync / db version, as an operator runs them."""

    def setUp(self):
        super().setUp()
        self.command = _manage_command()
        if self.command is None:
            self.fail("vdi-broker-manage is not installed next to %s nor "
                      "on PATH" % sys.executable)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.db_path = os.path.join(self.tmp, "broker.sqlite")
        self.config = os.path.join(self.tmp, "vdi-broker.conf")
        with open(self.config, "w") as f:
            f.write("[database]\nconnection = sqlite:///%s\n" % self.db_path)

    def _manage(self, *args):
        return subprocess.run(
            [self.command, "--config-file", self.config] + list(args),
            capture_output=True, text=True, timeout=120,
            cwd=self.tmp, env=dict(os.environ, PYTHONWARNINGS="ignore"))

    def test_db_sync_then_version(self):
        head = migration.head_revision()
        self.assertIsNotNone(head)

        sync = self._manage("db", "sync")
        self.assertEqual(0, sync.returncode, sync.stderr)
        self.assertIn(head, sync.stdout)
        self.assertTrue(os.path.exists(self.db_path))

        version = self._manage("db", "version")
        self.assertEqual(0, version.returncode, version.stderr)
        # The revision is the last line (alembic may log before it).
        self.assertEqual(head, version.stdout.strip().splitlines()[-1])
