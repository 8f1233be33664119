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

"""Guest jobs

Operators' jobs on desktops (commands, states, software, files, local
passwords, data recovery, messages) and their result per desktop.

Revision ID: 0006_guest_jobs
Revises: 0004_boot_queue
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_guest_jobs'
down_revision = '0004_boot_queue'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'guest_jobs',
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('secret', sa.Text(), nullable=True),
        sa.Column('targets', sa.JSON(), nullable=False),
        sa.Column('run_at', sa.DateTime(), nullable=False),
        sa.Column('in_use', sa.String(length=16), nullable=False),
        sa.Column('max_retries', sa.Integer(), nullable=False),
        sa.Column('retry_delay', sa.Integer(), nullable=False),
        sa.Column('concurrency', sa.Integer(), nullable=False),
        sa.Column('timeout', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('status_reason', sa.String(length=1024), nullable=True),
        sa.Column('created_by', sa.String(length=255), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('claims', sa.BigInteger(), server_default='0',
                  nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('guest_jobs_state_run_at_idx', 'guest_jobs',
                    ['state', 'run_at'], unique=False)
    op.create_table(
        'guest_job_targets',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('job_id', sa.String(length=36), nullable=False),
        sa.Column('desktop_id', sa.String(length=36), nullable=False),
        sa.Column('desktop_name', sa.String(length=255), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=1024), nullable=True),
        sa.Column('output', sa.Text(), nullable=True),
        sa.Column('claimed_by', sa.String(length=255), nullable=True),
        sa.Column('claim_expires_at', sa.DateTime(), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['guest_jobs.id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('job_id', 'desktop_id',
                            name='uniq_guest_job_targets0job_id0desktop_id'),
    )
    op.create_index('guest_job_targets_job_id_state_idx',
                    'guest_job_targets', ['job_id', 'state'], unique=False)
