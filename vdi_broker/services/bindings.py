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

"""Bindings, as an operator removes them."""

from vdi_broker.db import api as db


def delete(ctxt, binding_id):
    """Remove a binding and give its desktop back to the pool.

    The desktop goes through its pool's release action in the same
    transaction, unless a session still uses it (then the logout releases
    it). Returns the desktop when its release started, else None.
    """
    return db.binding_delete(ctxt, binding_id, release_desktop=True)
