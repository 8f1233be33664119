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

"""Failed logins: shared lockout counters and aggregated events

The login_failures table holds the failed-login counters every API worker
shares (lockout); events gain aggregate_key (unique), occurrences and
last_at, so that failed logins are one event per user name, client, reason
and minute, updated in place.

Revision ID: 0003_login_failures
Revises: 0002_upkeep_records
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_login_failures'
down_revision = '0002_upkeep_records'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failures',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('locked', sa.Boolean(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('login_failures_expires_at_idx', 'login_failures',
                    ['expires_at'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aggregate_key', sa.String(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('occurrences', sa.Integer(),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_at', sa.DateTime(),
                                      nullable=True))
        batch_op.create_unique_constraint('uniq_events0aggregate_key',
                                          ['aggregate_key'])
