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

"""An example allocator plugin: one pool per department.

The directory says which department an agent works in; this allocator
maps departments to pools, so that moving an agent to another department
in the directory is all it takes to give them the other department's
desktops (R7 step 6). Agents of unknown departments fall through to the
next allocator.
"""

from vdi_broker.allocators import base


class DepartmentAllocator(base.Allocator):
    """Floating desktop from the pool of the user's department."""

    # The pool comes from the options, not from the allocator's pool.
    requires_pool = False

    options_schema = {
        "type": "object",
        "properties": {
            "attribute": {"type": "string", "minLength": 1},
            "pools": {"type": "object", "minProperties": 1,
                      "additionalProperties": {"type": "string"}},
        },
        "required": ["pools"],
        "additionalProperties": False,
    }

    def decide(self, request):
        attribute = self.options.get("attribute", "department")
        values = request.principal.attributes.get(attribute, ())
        for value in values:
            pool = self.options["pools"].get(value)
            if pool:
                return base.Decision(
                    pool=pool, reason="department %s uses pool %s" % (
                        value, pool))
        raise base.NotApplicable(
            "no pool for %s=%s" % (attribute, "|".join(values) or "(none)"))
