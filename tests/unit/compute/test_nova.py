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

"""Pure unit tests of the Nova driver's helpers and its options."""

import configparser
import importlib
import logging
import os

from keystoneauth1 import exceptions as ks_exc
from novaclient import exceptions as nova_exc
from oslo_config import cfg
import testtools

from vdi_broker.compute import base
from vdi_broker.compute import nova
from vdi_broker.conf import consoles as consoles_conf
from vdi_broker.conf import nova as nova_conf
from vdi_broker import exception

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                    ".."))


class NovaOptionsTest(testtools.TestCase):

    def test_list_opts_has_keystoneauth_options(self):
        (group, opts), = nova_conf.list_opts().items()
        self.assertEqual("nova", group.name)
        names = [o.dest for o in opts]
        self.assertEqual(len(names), len(set(names)))
        for name in ("auth_type", "auth_section", "auth_url", "username",
                     "password", "project_name", "user_domain_name",
                     "cafile", "insecure", "timeout", "service_type",
                     "valid_interfaces", "region_name", "endpoint_override",
                     "api_version", "console_api_version", "retries",
                     "boot_timeout"):
            self.assertIn(name, names)
        by_name = {o.dest: o for o in opts}
        self.assertTrue(by_name["password"].secret)
        self.assertEqual(30.0, by_name["timeout"].default)
        self.assertEqual("compute", by_name["service_type"].default)

    def test_register_on_fresh_conf(self):
        conf = cfg.ConfigOpts()
        nova_conf.register_opts(conf)
        consoles_conf.register_opts(conf)
        conf([], default_config_files=[], default_config_dirs=[])
        self.assertEqual("2.96", conf.nova.api_version)
        self.assertEqual("2.99", conf.nova.console_api_version)
        self.assertEqual(30.0, conf.nova.timeout)
        self.assertEqual("compute", conf.nova.service_type)
        self.assertEqual(["internal", "public"], conf.nova.valid_interfaces)
        self.assertIsNone(conf.nova.auth_type)
        self.assertTrue(conf.spice_direct.fullscreen)
        self.assertIsNone(conf.spice_direct.ca_file)

    def test_api_version_is_validated(self):
        conf = cfg.ConfigOpts()
        nova_conf.register_opts(conf)
        self.assertRaises(ValueError, conf.set_override, "api_version",
                          "latest", group="nova")

    def test_consoles_list_opts(self):
        (group, opts), = consoles_conf.list_opts().items()
        self.assertEqual("spice_direct", group.name)
        self.assertEqual({"ca_file", "host_subject", "fullscreen",
                          "require_tls", "secure_channels"},
                         {o.dest for o in opts})

    def test_entry_points_resolve(self):
        parser = configparser.ConfigParser()
        parser.read(os.path.join(ROOT, "setup.cfg"))
        wanted = {
            ("vdi_broker.compute", "nova"): nova.NovaComputeDriver,
        }
        from vdi_broker.consoles import nova_url
        from vdi_broker.consoles import spice_direct
        wanted[("vdi_broker.consoles", "spice-direct")] = (
            spice_direct.SpiceDirectConsole)
        wanted[("vdi_broker.consoles", "spice-html5")] = (
            nova_url.SpiceHtml5Console)
        wanted[("vdi_broker.consoles", "novnc")] = nova_url.NoVNCConsole
        points = {}
        for namespace in ("vdi_broker.compute", "vdi_broker.consoles"):
            for line in parser["entry_points"][namespace].splitlines():
                if "=" in line:
                    name, target = (p.strip() for p in line.split("=", 1))
                    points[(namespace, name)] = target
        for key, cls in wanted.items():
            module, attr = points[key].split(":")
            self.assertIs(cls, getattr(importlib.import_module(module),
                                       attr))


def _spec(**kwargs):
    kwargs.setdefault("metadata", {base.META_POOL: "p1"})
    return base.ServerSpec(name="d", flavor="f", image="i", **kwargs)


class TagsAndMetadataTest(testtools.TestCase):

    def test_from_metadata(self):
        tags, meta = nova.broker_tags_and_metadata(_spec(tags=["x"]))
        self.assertEqual(["x", base.BROKER_TAG, "vdi-pool-p1"], tags)
        self.assertEqual({base.META_POOL: "p1",
                          base.META_BROKER: base.BROKER_TAG}, meta)

    def test_from_tag(self):
        tags, meta = nova.broker_tags_and_metadata(
            _spec(metadata={}, tags=["vdi-pool-p2", base.BROKER_TAG]))
        self.assertEqual(["vdi-pool-p2", base.BROKER_TAG], tags)
        self.assertEqual("p2", meta[base.META_POOL])

    def test_values_become_strings(self):
        _, meta = nova.broker_tags_and_metadata(
            _spec(metadata={base.META_POOL: "p", "n": 3}))
        self.assertEqual("3", meta["n"])

    def test_refused(self):
        for spec in (_spec(metadata={}),
                     _spec(metadata={base.META_POOL: "a,b"}),
                     _spec(tags=["x" * 61]),
                     _spec(tags=["t%d" % i for i in range(49)]),
                     _spec(metadata={base.META_POOL: "p", "k": "v" * 256})):
            self.assertRaises(exception.Invalid,
                              nova.broker_tags_and_metadata, spec)


class ConversionTest(testtools.TestCase):

    def test_nics(self):
        self.assertEqual("auto", nova._nics([]))
        self.assertEqual("none", nova._nics(["none"]))
        self.assertEqual("auto", nova._nics("auto"))
        self.assertEqual([{"net-id": "n1"}, {"net-id": "n2",
                                             "v4-fixed-ip": "10.0.0.5"},
                          {"port-id": "p1"}],
                         nova._nics(["n1", {"uuid": "n2",
                                            "v4-fixed-ip": "10.0.0.5"},
                                     {"port": "p1"}]))

    def test_to_server(self):
        server = nova._to_server({
            "id": "s1", "name": "n", "status": "HARD_REBOOT",
            "OS-EXT-SRV-ATTR:host": "cmp1",
            "addresses": {"net": [
                {"addr": "fd00::5", "version": 6,
                 "OS-EXT-IPS:type": "fixed"},
                {"addr": "172.24.4.9", "version": 4,
                 "OS-EXT-IPS:type": "floating"},
                {"addr": "10.0.0.5", "version": 4,
                 "OS-EXT-IPS:type": "fixed"}]},
            "metadata": {"a": "b"}, "tags": ["t"],
            "fault": {"message": "boom"}})
        self.assertEqual(base.REBOOT, server.status)
        self.assertEqual("cmp1", server.host)
        self.assertEqual(["10.0.0.5", "fd00::5", "172.24.4.9"],
                         server.addresses)
        self.assertEqual("10.0.0.5", server.address)
        self.assertEqual("boom", server.fault)
        self.assertEqual(["t"], server.tags)

    def test_to_server_minimal(self):
        server = nova._to_server({"id": "s1"})
        self.assertEqual(base.BUILD, server.status)
        self.assertEqual([], server.addresses)
        self.assertIsNone(server.fault)


class ErrorsTest(testtools.TestCase):

    def test_transient(self):
        timeout = ks_exc.ConnectTimeout("t")
        refused = ks_exc.ConnectFailure("r")
        e500 = nova_exc.ClientException(500)
        e503 = ks_exc.ServiceUnavailable()
        e409 = nova_exc.Conflict(409)
        self.assertTrue(nova._is_transient(timeout, True))
        self.assertFalse(nova._is_transient(timeout, False))
        self.assertTrue(nova._is_transient(refused, False))
        self.assertTrue(nova._is_transient(e500, True))
        self.assertFalse(nova._is_transient(e500, False))
        self.assertTrue(nova._is_transient(e503, True))
        self.assertFalse(nova._is_transient(e409, True))
        self.assertFalse(nova._is_transient(ks_exc.Unauthorized(), True))

    def test_translate(self):
        tr = nova.NovaComputeDriver._translate
        self.assertIsInstance(tr(nova_exc.NotFound(404), "show", "s1", False),
                              exception.ServerNotFound)
        self.assertNotIsInstance(tr(nova_exc.NotFound(404), "x", None,
                                    False), exception.ServerNotFound)
        self.assertIsInstance(tr(ks_exc.ConnectFailure("x"), "x", None,
                                 False), exception.ComputeUnavailable)
        self.assertIsInstance(tr(nova_exc.ClientException(502), "x", None,
                                 False), exception.ComputeUnavailable)
        e = tr(nova_exc.Unauthorized(401), "x", None, False)
        self.assertIsInstance(e, exception.ComputeUnavailable)
        e = tr(nova_exc.BadRequest(400, "bad thing"), "x", None, False)
        self.assertNotIsInstance(e, exception.ComputeUnavailable)
        self.assertIn("bad thing", e.message)

    def test_secret_errors_keep_only_the_kind(self):
        exc = ks_exc.ConnectTimeout(
            "Request to http://n/os-console-auth-tokens/abc timed out")
        e = nova.NovaComputeDriver._translate(exc, "console", None, True)
        self.assertNotIn("abc", e.message)
        self.assertIn("ConnectTimeout", e.message)


class RedactingFilterTest(testtools.TestCase):

    def _filtered(self, msg, *args):
        record = logging.LogRecord("x", logging.DEBUG, __file__, 1, msg,
                                   args, None)
        nova._RedactingFilter().filter(record)
        return record.getMessage()

    def test_masks(self):
        out = self._filtered(
            'RESP BODY: %s', '{"server": {"adminPass": "s3cret"}}')
        self.assertNotIn("s3cret", out)
        out = self._filtered('"GET /v2.1/os-console-auth-tokens/%s HTTP/1.1"'
                             ' 200', "tok-123")
        self.assertNotIn("tok-123", out)
        out = self._filtered("url http://h/nova?token=tok-456&x=1")
        self.assertNotIn("tok-456", out)
        out = self._filtered("url http://h/vnc_lite.html?path=%3Ftoken"
                             "%3Dtok-789")
        self.assertNotIn("tok-789", out)

    def test_leaves_others_alone(self):
        self.assertEqual("GET /servers/detail?limit=2 200",
                         self._filtered("GET /servers/detail?limit=%d 200",
                                        2))
