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
