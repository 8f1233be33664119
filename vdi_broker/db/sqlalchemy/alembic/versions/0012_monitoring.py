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

"""Business monitoring

Departments, shift plans, one-minute agent counts, alerts; the session's
department and the thin client's last input, health and fault reason.

Revision ID: 0012_monitoring
Revises: 0011_guest_agent
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_monitoring'
down_revision = '0011_guest_agent'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.add_column('sessions', sa.Column('department', sa.String(length=255),
                                        nullable=True))
    op.add_column('thin_clients', sa.Column('last_input_at', sa.DateTime(),
                                            nullable=True))
    op.add_column('thin_clients', sa.Column('health', sa.JSON(),
                                            nullable=True))
    op.add_column('thin_clients', sa.Column('fault_reason',
                                            sa.String(length=1024),
                                            nullable=True))
    op.create_table(
        'departments',
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=1024), nullable=True),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name', name='uniq_departments0name'),
    )
    op.create_table(
        'shift_plan_slots',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('department_id', sa.String(length=36), nullable=False),
        sa.Column('site', sa.String(length=255), nullable=False),
        sa.Column('local_date', sa.Date(), nullable=False),
        sa.Column('local_start', sa.String(length=5), nullable=False),
        sa.Column('fold', sa.Integer(), nullable=False),
        sa.Column('slot_minutes', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('expected', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('department_id', 'site', 'starts_at',
                            name='uniq_shift_plan_slots0dept0site0start'),
    )
    op.create_index('shift_plan_slots_starts_at_idx', 'shift_plan_slots',
                    ['starts_at'], unique=False)
    op.create_index('shift_plan_slots_local_date_idx', 'shift_plan_slots',
                    ['local_date'], unique=False)
    op.create_table(
        'agent_counts',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('minute', sa.DateTime(), nullable=False),
        sa.Column('department', sa.String(length=255), nullable=False),
        sa.Column('site', sa.String(length=255), nullable=False),
        sa.Column('pool', sa.String(length=255), nullable=False),
        sa.Column('active', sa.Integer(), nullable=False),
        sa.Column('idle', sa.Integer(), nullable=False),
        sa.Column('offline', sa.Integer(), nullable=False),
        sa.Column('expected', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('minute', 'department', 'site', 'pool',
                            name='uniq_agent_counts0minute0dept0site0pool'),
    )
    op.create_index('agent_counts_dept_site_minute_idx', 'agent_counts',
                    ['department', 'site', 'minute'], unique=False)
    op.create_table(
        'alerts',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('open_key', sa.String(length=255), nullable=True),
        sa.Column('department', sa.String(length=255), nullable=True),
        sa.Column('site', sa.String(length=255), nullable=True),
        sa.Column('pool', sa.String(length=255), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('fired_at', sa.DateTime(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('values', sa.JSON(), nullable=True),
        sa.Column('message', sa.String(length=1024), nullable=True),
        sa.Column('acknowledged_by', sa.String(length=255), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('open_key', name='uniq_alerts0open_key'),
    )
    op.create_index('alerts_state_kind_idx', 'alerts', ['state', 'kind'],
                    unique=False)
    op.create_index('alerts_started_at_idx', 'alerts', ['started_at'],
                    unique=False)
