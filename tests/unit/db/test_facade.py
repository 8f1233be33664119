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

"""The db facade offers exactly what the storage modules list."""

import inspect

import testtools

from vdi_broker.db import api as db


class FacadeTest(testtools.TestCase):

    # Public for the storage modules, not for the layers above.
    HELPERS = {"seat_row"}

    def test_every_public_storage_function_is_offered_once(self):
        offered = set()
        for module, names in db._MODULES:
            public = {name for name, value in vars(module).items()
                      if inspect.isfunction(value) and
                      value.__module__ == module.__name__ and
                      not name.startswith("_")}
            # A module offers its public functions, all of them but the
            # helpers other storage modules share.
            self.assertEqual(public - self.HELPERS, set(names),
                             module.__name__)
            self.assertFalse(offered & set(names))
            offered |= set(names)
        self.assertEqual(offered, set(db.__all__))

    def test_facade_names_are_the_module_functions(self):
        for module, names in db._MODULES:
            for name in names:
                self.assertIs(getattr(module, name), getattr(db, name))

    def test_a_name_offered_twice_is_refused(self):
        module = db._MODULES[1][0]
        name = module.__all__[0]
        self.assertRaises(ImportError, db._export,
                          [(module, (name,)), (module, (name,))])
