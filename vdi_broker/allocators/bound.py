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

"""Binding allocators: the same desktop every time (R7 step 4).

``user`` binds a desktop to the user (follows the agent to any seat),
``seat`` to the seat (whoever sits there gets it) and ``client`` to the
thin client. The first login claims a desktop from the allocator's pool and
records the binding; later logins get the bound desktop back.
"""

import abc

from vdi_broker.allocators import base


class _BindingAllocator(base.Allocator):
    kind = None

    @abc.abstractmethod
    def key(self, request):
        """The binding key of the request (user name, seat, client)."""

    def decide(self, request):
        key = self.key(request)
        if not key:
            raise base.NotApplicable("the login names no %s" % self.kind)
        return base.Decision(pool=self.record["pool_id"],
                             binding_kind=self.kind, binding_key=key,
                             reason="%s binding %s" % (self.kind, key))


class UserAllocator(_BindingAllocator):
    """The user's own desktop, wherever the user logs in."""

    kind = "user"

    def key(self, request):
        return request.principal.username


class SeatAllocator(_BindingAllocator):
    """The seat's desktop, for whoever sits there."""

    kind = "seat"

    def key(self, request):
        return request.seat


class ClientAllocator(_BindingAllocator):
    """The thin client's desktop."""

    kind = "client"

    def key(self, request):
        return request.client_id
