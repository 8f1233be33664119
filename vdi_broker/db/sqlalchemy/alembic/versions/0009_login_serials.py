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

"""Login serials: per-user serialisation across Galera nodes

One row per user name that has logged in (the SHA-256 of the name) with a
counter every login of that user increments in its transaction. On a
multi-writer Galera cluster the logins of one user on two nodes then
write the same row, and certification lets only one of them commit (the
other is retried): GET_LOCK, the per-user lock on a single server, is
local to one node.

Revision ID: 0009_login_serials
Revises: 0006_guest_jobs
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_login_serials'
down_revision = '0006_guest_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_serials',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('logins', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
