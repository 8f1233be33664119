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

"""Pool upkeep and operator records

Schedules; the build throttle's state and the readiness probe on pools;
readiness and fault fields on desktops; revisions (ETags) on bindings,
seats and thin clients; heartbeat fields on thin clients.

Revision ID: 0002_upkeep_records
Revises: 0001_initial
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_upkeep_records'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def _revision_column():
    # server_default fills the rows already there; the model sets it on
    # new rows.
    return sa.Column('revision', sa.Integer(), nullable=False,
                     server_default='1')


def upgrade():
    op.create_table(
        'schedules',
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=1024), nullable=True),
        sa.Column('pool_id', sa.String(length=36), nullable=False),
        sa.Column('days', sa.JSON(), nullable=False),
        sa.Column('start_time', sa.String(length=5), nullable=False),
        sa.Column('end_time', sa.String(length=5), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('min_ready', sa.Integer(), nullable=False),
        sa.Column('prewarm_minutes', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pool_id', 'name',
                            name='uniq_schedules0pool_id0name'),
    )
    with op.batch_alter_table('pools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('build_failures', sa.Integer(),
                                      nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_build_error',
                                      sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('readiness_probe',
                                      sa.String(length=64), nullable=True))
    with op.batch_alter_table('desktops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_at', sa.DateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('ready_at', sa.DateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('fault_reason', sa.String(length=1024),
                                      nullable=True))
        batch_op.add_column(sa.Column('faulted_at', sa.DateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('faulted_by', sa.String(length=255),
                                      nullable=True))
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.add_column(_revision_column())
    with op.batch_alter_table('seats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=1024),
                                      nullable=True))
        batch_op.add_column(_revision_column())
    with op.batch_alter_table('thin_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_user', sa.String(length=255),
                                      nullable=True))
        batch_op.add_column(sa.Column('input_events', sa.Integer(),
                                      nullable=True))
        batch_op.add_column(sa.Column('description', sa.String(length=1024),
                                      nullable=True))
        batch_op.add_column(_revision_column())
