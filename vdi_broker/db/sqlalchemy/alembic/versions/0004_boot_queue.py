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

"""Boot queue

One queue and one set of limits for every boot (R10): the queue position
and boot slot of each desktop, the adaptive throttle's state of pools and
compute hosts, and the row that serializes admissions across conductors.

Desktops already releasing are put in the queue (those waiting for their
reboot) or given the slot they hold (those restarting), so that an
upgrade in the middle of a release storm keeps counting them.

Revision ID: 0004_boot_queue
Revises: 0003_login_failures
Create Date: 2026-12-14
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# Microseconds on MariaDB too: the queue's order and boot durations.
PRECISE = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                     'mariadb')


# revision identifiers, used by Alembic.
revision = '0004_boot_queue'
down_revision = '0003_login_failures'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('build_allowance', sa.Integer(),
                                      nullable=True))
        batch_op.add_column(sa.Column('build_throttled_at', sa.DateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('boot_seconds', sa.Float(),
                                      nullable=True))
        batch_op.add_column(sa.Column('boots_wanted', sa.Integer(),
                                      nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('boot_wait_reason',
                                      sa.String(length=1024), nullable=True))
    with op.batch_alter_table('desktops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boot_queued_at', PRECISE,
                                      nullable=True))
        batch_op.add_column(sa.Column('boot_started_at', PRECISE,
                                      nullable=True))
        batch_op.add_column(sa.Column('boot_action', sa.String(length=32),
                                      nullable=True))
        batch_op.create_index('desktops_boot_queued_at_idx',
                              ['boot_queued_at'], unique=False)
        batch_op.create_index('desktops_boot_started_at_idx',
                              ['boot_started_at'], unique=False)
    op.create_table(
        'boot_hosts',
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('allowance', sa.Integer(), nullable=True),
        sa.Column('throttled_at', sa.DateTime(), nullable=True),
        sa.Column('boot_seconds', sa.Float(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('host'),
    )
    gates = op.create_table(
        'boot_gates',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('admissions', sa.BigInteger(), nullable=False,
                  server_default='0'),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(gates, [{'name': 'global', 'admissions': 0}])

    desktops = sa.table(
        'desktops', sa.column('state', sa.String), sa.column(
            'state_reason', sa.String), sa.column('updated_at', sa.DateTime),
        sa.column('created_at', sa.DateTime),
        sa.column('boot_queued_at', sa.DateTime),
        sa.column('boot_started_at', sa.DateTime),
        sa.column('boot_action', sa.String))
    since = sa.func.coalesce(desktops.c.updated_at, desktops.c.created_at)
    for action in ('reboot', 'rebuild'):
        # Waiting for the restart: in the queue, in the order they came.
        op.execute(
            desktops.update()
            .where(desktops.c.state == 'releasing',
                   desktops.c.state_reason == 'release:%s' % action)
            .values(boot_queued_at=since, boot_action=action))
        # Restarting: they hold a boot slot.
        op.execute(
            desktops.update()
            .where(desktops.c.state == 'releasing',
                   desktops.c.state_reason.like('release:%s:%%' % action))
            .values(boot_queued_at=since, boot_started_at=since,
                    boot_action=action))
