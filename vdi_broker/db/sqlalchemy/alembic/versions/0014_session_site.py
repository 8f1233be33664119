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

"""The session's site

The agent's site at login (the seat's, else the thin client's): the
site-scoped personas list and act on their own site's sessions. Active
sessions get theirs from their seat or thin client; closed ones keep
none (history).

Revision ID: 0014_session_site
Revises: 0012_monitoring
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_session_site'
down_revision = '0012_monitoring'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('sessions', sa.Column('site', sa.String(length=255),
                                        nullable=True))
    op.create_index('sessions_site_state_idx', 'sessions',
                    ['site', 'state'])
    op.execute(
        "UPDATE sessions SET site = (SELECT seats.site FROM seats "
        "WHERE seats.name = sessions.seat) "
        "WHERE state = 'active' AND seat IS NOT NULL")
    op.execute(
        "UPDATE sessions SET site = (SELECT thin_clients.site FROM "
        "thin_clients WHERE thin_clients.client_id = sessions.client_id) "
        "WHERE state = 'active' AND site IS NULL")
