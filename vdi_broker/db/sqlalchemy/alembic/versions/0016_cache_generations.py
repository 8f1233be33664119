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

"""Cache generations: the allocators' and pools' change counter

One row, ``allocation``, whose generation every transaction that writes
the pools or allocators tables increments: a login keeps the decoded
rows of both tables in its process and reads them again only when the
counter moved.

Revision ID: 0016_cache_generations
Revises: 0015_session_viewer
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_cache_generations'
down_revision = '0015_session_viewer'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'cache_generations',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('generation', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(table, [{'name': 'allocation', 'generation': 1,
                            'updated_at': None}])
