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

"""The API reference in doc/source/api-ref documents every route.

Each operation of the reference shows its method and path in a
``.. code-block:: text`` line (``GET /v1/seats``); this test collects them
and compares them with the router's table, so that a new route without
its page, or a page for a route that is gone, fails the unit tests.
"""

import os
import re

import testtools

from vdi_broker.api import handler
from vdi_broker import policies

API_REF = os.path.join(os.path.dirname(__file__), "..", "..", "doc",
                       "source", "api-ref")
OPERATION = re.compile(r"^ {3}(GET|POST|PUT|PATCH|DELETE) (/\S*)$")
# "Policy: ``vdi_broker:pools:list`` (reader)."
POLICY = re.compile(r"^Policy: ``(vdi_broker:[a-z_:]+)`` \((\w+)[;)]")


def documented():
    found = set()
    for name in sorted(os.listdir(API_REF)):
        if name.endswith(".rst"):
            with open(os.path.join(API_REF, name), encoding="utf-8") as f:
                for line in f:
                    match = OPERATION.match(line.rstrip("\n"))
                    if match:
                        found.add((match.group(2), match.group(1)))
    return found


class TestApiRef(testtools.TestCase):

    def test_every_route_and_no_other(self):
        routes = {(path, method) for path, methods
                  in handler.ROUTE_DECLARATIONS for method in methods}
        self.assertEqual(sorted(routes), sorted(documented()))

    def test_personas_are_the_defaults(self):
        defaults = {rule.name: rule.check_str
                    for rule in policies.list_rules()}
        named = {}
        for name in sorted(os.listdir(API_REF)):
            if name.endswith(".rst"):
                with open(os.path.join(API_REF, name),
                          encoding="utf-8") as f:
                    for line in f:
                        match = POLICY.match(line)
                        if match:
                            named[match.group(1)] = match.group(2)
        self.assertGreater(len(named), 30)
        for rule, persona in named.items():
            # The persona's rule comes first in the default check string.
            self.assertTrue(defaults[rule].startswith("rule:" + persona),
                            "%s: the reference says %s, the default is %s"
                            % (rule, persona, defaults[rule]))
