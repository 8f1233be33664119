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

"""The real cloud of ``tools/real-openstack.sh``, for integration tests.

:func:`ensure_cloud` makes sure the cloud is installed, configured and
running (once per test process, under a file lock so that parallel test
workers never start it twice) and returns a :class:`Cloud`: the broker's
``[nova]`` options that ``tools/real-openstack.sh env`` prints, the test
flavor, image (resolved to its UUID through Glance) and networks.

An installed environment is reused: ``install`` keeps a virtualenv whose
packages match the script's pinned list, ``configure`` runs only once, and
a cloud that already runs and answers is used as it is (it is left running
afterwards: ``tools/real-openstack.sh stop`` stops it).

When the cloud cannot be started the tests are skipped with the reason,
unless ``VDI_BROKER_REQUIRE_CLOUD`` is set (``tox -e integration``, CI):
then they fail.

:class:`RealCloudBroker` is the API tests' :class:`Broker` fixture with
the broker's Nova driver pointed at that cloud instead of the fake one.
"""

import configparser
import contextlib
import datetime
import fcntl
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest

from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session

from tests.fixtures import broker as broker_fixture
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import nova
from vdi_broker.conf import nova as nova_conf
from vdi_broker import exception

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "tools", "real-openstack.sh")
STATE_DIR = os.environ.get("VDI_OS_DIR", "/var/tmp/vdi-openstack")

# Installing from nothing (a ~600 MB virtualenv), configuring and starting
# takes a few minutes; a start alone about one.
SETUP_TIMEOUT = 1800
COMMAND_TIMEOUT = 60

# Servers of these tests carry this metadata key, so that servers a killed
# run left behind are deleted by a later run.
TEST_META = "vdi_integration"
# ... once they are older than this (a parallel run's are younger).
STALE_AFTER = datetime.timedelta(minutes=30)

# What the script seeds when its "env" output does not say otherwise.
DEFAULT_FLAVOR = "vdi.small"
DEFAULT_IMAGE = "vdi-tiny"

# The spice-direct console of Nova's fake virt driver.
FAKE_SPICE_HOST = "fakespiceconsole.com"
FAKE_SPICE_PORT = 6969
FAKE_SPICE_TLS_PORT = 6970


def required():
    return bool(os.environ.get("VDI_BROKER_REQUIRE_CLOUD"))


class CloudUnavailable(Exception):
    pass


class Cloud:
    """What the broker needs to use the running cloud."""

    def __init__(self, nova_options, flavor, image, image_id, networks,
                 started):
        self.nova_options = nova_options
        self.flavor = flavor
        self.image = image
        self.image_id = image_id
        self.networks = networks
        # Whether this process started (part of) the cloud.
        self.started = started

    def configure(self, config, group="nova"):
        """Point the ``[nova]`` group at the cloud.

        ``config`` is an oslo.config Config fixture. The password plugin's
        options are registered (through it, so that they go away again:
        ``auth_url`` is required) as keystoneauth would when loading them,
        so that they can be overridden.
        """
        plugin_opts = ks_loading.get_auth_plugin_conf_options("password")
        registered = set(config.conf[group])
        config.register_opts([o for o in plugin_opts
                              if o.dest not in registered], group=group)
        # conf/nova.py gives keystoneauth's service_type and timeout the
        # broker's defaults with set_default, which the Config fixture's
        # reset clears after the first test: set them again.
        values = dict(service_type=nova_conf.DEFAULT_SERVICE_TYPE,
                      timeout=nova_conf.DEFAULT_TIMEOUT,
                      valid_interfaces=",".join(
                          nova_conf.DEFAULT_VALID_INTERFACES),
                      boot_poll_interval=0.5, boot_timeout=120)
        values.update(self.nova_options)
        for name, value in values.items():
            if name == "valid_interfaces":
                value = [v.strip() for v in value.split(",")]
            config.config(group=group, **{name: value})

    def session(self):
        """A keystoneauth1 session with the broker's credentials."""
        opts = self.nova_options
        loader = ks_loading.get_plugin_loader(opts.get("auth_type",
                                                       "password"))
        auth = loader.load_from_options(
            auth_url=opts["auth_url"], username=opts["username"],
            password=opts["password"],
            user_domain_name=opts.get("user_domain_name", "Default"),
            project_name=opts["project_name"],
            project_domain_name=opts.get("project_domain_name", "Default"))
        return ks_session.Session(auth=auth, timeout=30)

    def endpoint(self, service_type, **kwargs):
        return dict(kwargs, endpoint_filter={
            "service_type": service_type, "interface": "public",
            "region_name": self.nova_options.get("region_name")})


# -- starting the cloud ------------------------------------------------------

_CLOUD = None
_CLOUD_LOCK = threading.Lock()


def _script(*args, timeout=COMMAND_TIMEOUT):
    """Run tools/real-openstack.sh; return (returncode, output)."""
    try:
        proc = subprocess.run(["bash", SCRIPT] + list(args),
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.output or ""
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        return -1, out + "\n(timed out after %d s)" % timeout
    return proc.returncode, proc.stdout


def _tail(output, lines=15):
    kept = [line for line in output.splitlines()
            if line.strip() and "eventlet" not in line.lower()]
    return "\n".join(kept[-lines:])


@contextlib.contextmanager
def _file_lock():
    """One test process at a time sets the cloud up."""
    path = os.path.join(tempfile.gettempdir(),
                        "vdi-broker-real-openstack.lock")
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _parse_env(output):
    """[nova] options, flavor, image and networks from the "env" output."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(output)
    if not parser.has_section("nova"):
        raise CloudUnavailable("'tools/real-openstack.sh env' printed no "
                               "[nova] section:\n%s" % _tail(output))
    options = dict(parser["nova"])
    flavor, image, networks = DEFAULT_FLAVOR, DEFAULT_IMAGE, ["none"]
    found = re.search(r"flavor:\s*([^,\s]+),\s*image:\s*([^,\s]+)"
                      r"(?:,\s*networks:\s*(\S+))?", output)
    if found:
        flavor, image = found.group(1), found.group(2)
        if found.group(3):
            networks = found.group(3).split(",")
    return options, flavor, image, networks


def _image_id(cloud):
    images = cloud.session().get(
        "/v2/images?name=%s" % cloud.image,
        **cloud.endpoint("image")).json()["images"]
    if not images:
        raise CloudUnavailable("the cloud has no image %s" % cloud.image)
    return images[0]["id"]


def _compute_ready(cloud):
    """Whether Keystone answers and nova-compute is up."""
    try:
        services = cloud.session().get(
            "/os-services?binary=nova-compute",
            **cloud.endpoint("compute", microversion="2.53")).json()
    except Exception:
        return False
    return any(s["state"] == "up" and s["status"] == "enabled"
               for s in services.get("services", []))


def sweep_stale_servers(cloud):
    """Delete test servers a killed run left behind (best effort)."""
    session = cloud.session()
    compute = cloud.endpoint("compute", microversion="2.52")
    try:
        servers = session.get(
            "/servers/detail?tags=%s" % compute_base.BROKER_TAG,
            **compute).json()["servers"]
        now = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None)
        for server in servers:
            created = datetime.datetime.strptime(server["created"][:19],
                                                 "%Y-%m-%dT%H:%M:%S")
            if TEST_META in (server.get("metadata") or {}) and \
                    now - created > STALE_AFTER:
                session.delete("/servers/%s" % server["id"], **compute)
    except Exception:  # noqa: S110 - a sweep never fails the tests
        pass


def _setup():
    started = False
    code, status = _script("status")
    if code != 0:
        # Installs only when the venv is missing or not current,
        # configures only once, starts what does not run.
        started = True
        code, output = _script("all", timeout=SETUP_TIMEOUT)
        if code != 0:
            # Once more (it is idempotent): a service that was slow to
            # answer while the others started should not cost the run.
            code, output = _script("all", timeout=SETUP_TIMEOUT)
        if code != 0:
            raise CloudUnavailable(
                "tools/real-openstack.sh all failed (exit %s); its logs are "
                "in %s/log:\n%s" % (code, STATE_DIR, _tail(output)))
    code, output = _script("env")
    if code != 0:
        raise CloudUnavailable("tools/real-openstack.sh env failed:\n%s"
                               % _tail(output))
    options, flavor, image, networks = _parse_env(output)
    cloud = Cloud(options, flavor, image, None, networks, started)
    if not _compute_ready(cloud):
        # The services run but something does not answer: start again
        # (only what stopped is started) and wait for nova-compute.
        cloud.started = True
        code, output = _script("start", timeout=SETUP_TIMEOUT)
        if code != 0 or not _compute_ready(cloud):
            raise CloudUnavailable(
                "the cloud does not answer and tools/real-openstack.sh "
                "start did not help (exit %s); its logs are in %s/log:\n%s"
                % (code, STATE_DIR, _tail(output)))
    try:
        cloud.image_id = _image_id(cloud)
    except CloudUnavailable:
        raise
    except Exception as e:
        raise CloudUnavailable("cannot look up image %s in Glance: %s"
                               % (image, e))
    sweep_stale_servers(cloud)
    return cloud


def ensure_cloud():
    """The running cloud, started if need be (once per process).

    Skips the test when the cloud cannot be had, or fails it when
    ``VDI_BROKER_REQUIRE_CLOUD`` is set. Call it before the test's
    timeout fixture: starting the cloud may take minutes.
    """
    global _CLOUD
    with _CLOUD_LOCK:
        if _CLOUD is None:
            if not os.path.exists(SCRIPT):
                _CLOUD = CloudUnavailable("%s is missing" % SCRIPT)
            else:
                with _file_lock():
                    try:
                        _CLOUD = _setup()
                    except CloudUnavailable as e:
                        _CLOUD = e
    if isinstance(_CLOUD, CloudUnavailable):
        message = ("a real cloud is not available: %s" % _CLOUD)
        if required():
            raise CloudUnavailable(message + "\n(VDI_BROKER_REQUIRE_CLOUD "
                                   "is set, so this is a failure)")
        raise unittest.SkipTest(message + " (set VDI_BROKER_REQUIRE_CLOUD "
                                "to fail instead of skipping)")
    return _CLOUD


# -- servers -----------------------------------------------------------------

def pool_tags(pool_id):
    return [compute_base.BROKER_TAG, compute_base.POOL_TAG_PREFIX + pool_id]


def delete_pool_servers(driver, pool_id, timeout=60):
    """Delete every server of the pool and wait until they are gone."""
    deadline = time.monotonic() + timeout
    while True:
        servers = driver.list_servers(tags=pool_tags(pool_id))
        if not servers:
            return
        for server in servers:
            if server.status != compute_base.DELETED:
                try:
                    driver.delete_server(server.id)
                except exception.ComputeError:
                    pass  # in a state Nova refuses now: tried again
        if time.monotonic() > deadline:
            raise AssertionError("servers of pool %s not deleted in %d s: "
                                 "%s" % (pool_id, timeout,
                                         [s.id for s in servers]))
        time.sleep(1)


# -- the broker --------------------------------------------------------------

class RealCloudBroker(broker_fixture.Broker):
    """The API tests' broker, its Nova driver pointed at ``cloud``."""

    def __init__(self, conf, cloud, **kwargs):
        super().__init__(conf, **kwargs)
        self.real_cloud = cloud

    def make_compute(self):
        self.flags(group="compute", driver="nova")
        self.real_cloud.configure(self.config)
        self.cloud = None
        return nova.NovaComputeDriver(self.conf)

    def new_compute(self):
        """Another driver on the same options (a restarted broker's)."""
        return nova.NovaComputeDriver(self.conf)


def upkeep_until(test, what, done, describe, timeout, poll=0.5):
    """Run ``test.manager``'s pool upkeep until ``done()`` is true.

    Fails ``test`` after ``timeout`` seconds with ``describe()``: what
    the pools or desktops were then.
    """
    deadline = time.monotonic() + timeout
    while True:
        test.manager.pool_upkeep(test.ctxt)
        if done():
            return
        if time.monotonic() > deadline:
            test.fail("%s: not after %d s; %s" % (what, timeout, describe()))
        time.sleep(poll)
