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

"""Image roll-outs and maintenance windows

The image a desktop was built from, pools' drain time, roll-outs and the
desktops they rebuilt, and maintenance windows.

Revision ID: 0010_rollouts
Revises: 0009_login_serials
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_rollouts'
down_revision = '0009_login_serials'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('desktops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image', sa.String(length=255),
                                      nullable=True))
    with op.batch_alter_table('pools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drain_until', sa.DateTime(),
                                      nullable=True))
    # Desktops made before: built from their pool's image (as far as the
    # broker knows).
    op.execute(
        "UPDATE desktops SET image = (SELECT pools.image FROM pools "
        "WHERE pools.id = desktops.pool_id)")
    op.create_table(
        'rollouts',
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('pool_id', sa.String(length=36), nullable=False),
        sa.Column('image', sa.String(length=255), nullable=False),
        sa.Column('previous_image', sa.String(length=255), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('status_reason', sa.String(length=1024), nullable=True),
        sa.Column('phase', sa.String(length=16), nullable=False),
        sa.Column('canary_share', sa.Float(), nullable=False),
        sa.Column('canary_size', sa.Integer(), nullable=False),
        sa.Column('wave_size', sa.Integer(), nullable=False),
        sa.Column('max_failures', sa.Integer(), nullable=False),
        sa.Column('window_id', sa.String(length=36), nullable=True),
        sa.Column('created_by', sa.String(length=255), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['pool_id'], ['pools.id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('rollouts_pool_id_state_idx', 'rollouts',
                    ['pool_id', 'state'], unique=False)
    op.create_table(
        'rollout_desktops',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('rollout_id', sa.String(length=36), nullable=False),
        sa.Column('desktop_id', sa.String(length=36), nullable=False),
        sa.Column('desktop_name', sa.String(length=255), nullable=True),
        sa.Column('image', sa.String(length=255), nullable=False),
        sa.Column('from_state', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=1024), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['rollout_id'], ['rollouts.id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(
            'rollout_id', 'desktop_id', 'image',
            name='uniq_rollout_desktops0rollout_id0desktop_id0image'),
    )
    op.create_index('rollout_desktops_rollout_id_state_idx',
                    'rollout_desktops', ['rollout_id', 'state'],
                    unique=False)
    op.create_table(
        'maintenance_windows',
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=1024), nullable=True),
        sa.Column('pool_id', sa.String(length=36), nullable=True),
        sa.Column('site', sa.String(length=255), nullable=True),
        sa.Column('cron', sa.String(length=255), nullable=True),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('duration_minutes', sa.Integer(), nullable=True),
        sa.Column('starts_at', sa.DateTime(), nullable=True),
        sa.Column('ends_at', sa.DateTime(), nullable=True),
        sa.Column('drain', sa.Boolean(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('announced_start', sa.DateTime(), nullable=True),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['pool_id'], ['pools.id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name', name='uniq_maintenance_windows0name'),
    )
