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

"""A small thread-safe cache with a time to live and a size bound.

The LDAP driver's cache of group -> parent groups (``[ldap]
group_cache_ttl`` and ``group_cache_size``).
"""

import collections
import threading
import time

# What get() returns for a key it does not hold (None is a value).
MISSING = object()


class TTLCache:
    """A small thread-safe cache with a time to live and a size bound."""

    def __init__(self, ttl, size, clock=time.monotonic):
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._data = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        if self.ttl <= 0:
            return MISSING
        now = self._clock()
        with self._lock:
            item = self._data.get(key)
            if item is None or item[0] <= now:
                if item is not None:
                    del self._data[key]
                self.misses += 1
                return MISSING
            self.hits += 1
            return item[1]

    def put(self, key, value):
        if self.ttl <= 0:
            return
        now = self._clock()
        with self._lock:
            self._data[key] = (now + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self):
        with self._lock:
            self._data.clear()

    def __len__(self):
        return len(self._data)
