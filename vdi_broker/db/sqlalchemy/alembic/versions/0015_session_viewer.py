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

"""The session's viewer, as the thin client reports it

API version 1.2: a thin client's heartbeat may say whether its viewer is
connected; the session keeps that end's state, since when, and when the
thin client last said it (vdi_broker/session_state.py combines it with
the guest agent's).

Revision ID: 0015_session_viewer
Revises: 0014_session_site
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_session_viewer'
down_revision = '0014_session_site'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sessions') as batch_op:
        batch_op.add_column(sa.Column('viewer_state', sa.String(length=16),
                                      nullable=True))
        batch_op.add_column(sa.Column('viewer_since', sa.DateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('viewer_at', sa.DateTime(),
                                      nullable=True))
