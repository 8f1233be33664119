"""Bindings, as an operator removes them."""

from vdi_broker.db import api as db


def delete(ctxt, binding_id):
    """Remove a binding and give its desktop back to the pool.

    The desktop goes through its pool's release action in the same
    transaction, unless a session still uses it (then the logout releases
    it). Returns the desktop when its release started, else None.
    """
    return db.binding_delete(ctxt, binding_id, release_desktop=True)
