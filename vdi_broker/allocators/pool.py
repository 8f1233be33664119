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

"""Floating allocator: any ready desktop of the pool (R7 step 5)."""

from vdi_broker.allocators import base


class PoolAllocator(base.Allocator):
    """A pre-booted desktop from the pool, returned to it at logout."""

    def decide(self, request):
        return base.Decision(pool=self.record["pool_id"],
                             reason="floating desktop from the pool")
