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

"""The allocator chain's order: which lists an operator may send."""

import testtools

from vdi_broker import exception
from vdi_broker.services import allocators


class ReorderIdsTest(testtools.TestCase):

    CHAIN = [{"id": "id-a", "name": "a"}, {"id": "id-b", "name": "b"},
             {"id": "id-c", "name": "c"}]

    def test_names_and_ids_resolve_in_the_given_order(self):
        self.assertEqual(["id-c", "id-a", "id-b"],
                         allocators.reorder_ids(self.CHAIN,
                                                ["c", "id-a", "b"]))

    def test_an_id_wins_over_a_name_that_looks_like_it(self):
        chain = [{"id": "x", "name": "y"}, {"id": "y", "name": "x"}]
        self.assertEqual(["y", "x"], allocators.reorder_ids(chain,
                                                            ["y", "x"]))

    def test_refusals_name_the_culprits(self):
        for idents, words in ((["a", "b", "c", "nope"], "unknown"),
                              (["a", "b", "c", "id-a"], "more than once"),
                              (["a", "b"], "missing: c")):
            error = self.assertRaises(exception.Invalid,
                                      allocators.reorder_ids, self.CHAIN,
                                      idents)
            self.assertIn(words, str(error))
