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

"""Request context: who is calling, and the database session it uses."""

from oslo_context import context
from oslo_db.sqlalchemy import enginefacade


@enginefacade.transaction_context_provider
class RequestContext(context.RequestContext):
    """A security context with the broker's enginefacade hooks."""

    def to_policy_values(self):
        values = super().to_policy_values()
        values["is_admin"] = self.is_admin
        return values


def get_admin_context():
    """A context for the broker's own work (periodic tasks, manage)."""
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          roles=["admin", "member", "reader", "service"],
                          overwrite=False)
