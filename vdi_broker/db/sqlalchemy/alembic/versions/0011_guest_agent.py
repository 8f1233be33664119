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

"""Guest agents and incidents

The desktops' guest agents (secret hash, last report), incidents of the
five-minute rule, the session state the agents report and the pools'
session timeouts.

Revision ID: 0011_guest_agent
Revises: 0010_rollouts
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


# revision identifiers, used by Alembic.
revision = '0011_guest_agent'
down_revision = '0010_rollouts'
branch_labels = None
depends_on = None

PreciseDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                             "mariadb")


def upgrade():
    op.create_table(
        'desktop_agents',
        sa.Column('desktop_id', sa.String(length=36), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('registered_at', sa.DateTime(), nullable=True),
        sa.Column('last_report_at', PreciseDateTime, nullable=True),
        sa.Column('version', sa.String(length=64), nullable=True),
        sa.Column('os', sa.String(length=64), nullable=True),
        sa.Column('hostname', sa.String(length=255), nullable=True),
        sa.Column('connection_state', sa.String(length=16), nullable=True),
        sa.Column('connection_since', sa.DateTime(), nullable=True),
        sa.Column('display', sa.String(length=16), nullable=True),
        sa.Column('username', sa.String(length=255), nullable=True),
        sa.Column('idle_seconds', sa.Integer(), nullable=True),
        sa.Column('cpu_percent', sa.Float(), nullable=True),
        sa.Column('memory_percent', sa.Float(), nullable=True),
        sa.Column('disk_free_mb', sa.Integer(), nullable=True),
        sa.Column('reports', sa.BigInteger(), server_default='0',
                  nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('desktop_id'),
    )
    op.create_index('desktop_agents_last_report_at_idx', 'desktop_agents',
                    ['last_report_at'], unique=False)
    op.create_table(
        'incidents',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=1024), nullable=True),
        sa.Column('desktop_id', sa.String(length=36), nullable=False),
        sa.Column('pool_id', sa.String(length=36), nullable=True),
        sa.Column('session_id', sa.String(length=36), nullable=True),
        sa.Column('username', sa.String(length=255), nullable=True),
        sa.Column('opened_at', PreciseDateTime, nullable=False),
        sa.Column('deadline', PreciseDateTime, nullable=False),
        sa.Column('probed_at', sa.DateTime(), nullable=True),
        sa.Column('probe_result', sa.String(length=1024), nullable=True),
        sa.Column('resolved_at', PreciseDateTime, nullable=True),
        sa.Column('new_desktop_id', sa.String(length=36), nullable=True),
        sa.Column('seconds', sa.Float(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('incidents_state_deadline_idx', 'incidents',
                    ['state', 'deadline'], unique=False)
    op.create_index('incidents_desktop_id_state_idx', 'incidents',
                    ['desktop_id', 'state'], unique=False)
    op.create_index('incidents_opened_at_idx', 'incidents',
                    ['opened_at'], unique=False)
    with op.batch_alter_table('pools') as batch_op:
        batch_op.add_column(sa.Column('disconnect_timeout', sa.Integer(),
                                      server_default='0', nullable=False))
        batch_op.add_column(sa.Column('idle_timeout', sa.Integer(),
                                      server_default='0', nullable=False))
        batch_op.add_column(sa.Column('expiry_when_connected', sa.Boolean(),
                                      server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('fix_time', sa.Integer(),
                                      nullable=True))
    with op.batch_alter_table('sessions') as batch_op:
        batch_op.add_column(sa.Column('connection_state',
                                      sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('connection_since', sa.DateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('idle_seconds', sa.Integer(),
                                      nullable=True))
