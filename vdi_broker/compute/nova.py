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

"""The Nova compute driver: the only module that talks to Nova.

Everything goes through one keystoneauth1 session, auth plugin and adapter
loaded from the ``[nova]`` group:

* the server lifecycle through python-novaclient at the pinned
  ``[nova] api_version`` (at most 2.96, novaclient's maximum);
* consoles through the keystoneauth1 adapter at an explicit microversion
  (``spice-direct`` needs 2.99, beyond novaclient), and the admin
  console-auth-token API that turns a spice-direct token into host, port
  and TLS port;
* capacity from Placement, through a second adapter on the same session.

Every request has the session's timeout (``[nova] timeout``); transient
failures are retried with exponential backoff (tenacity); every error
leaves this module as a :mod:`vdi_broker.exception` error. Console URLs
and tokens are secrets: their requests are sent with keystoneauth1's
request logging off and never appear in this module's log lines or error
messages.
"""

import logging as std_logging
import re
import threading
import time
from urllib import parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from novaclient import api_versions
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc
from oslo_log import log as logging
from oslo_utils import strutils
import tenacity

from vdi_broker.compute import base
from vdi_broker import exception
from vdi_broker import metrics

LOG = logging.getLogger(__name__)

# keystoneauth1 logs every request and response (headers and JSON bodies)
# at DEBUG on the logger it is given, and urllib3 logs every request line.
# keystoneauth1 hashes X-Auth-Token itself; this filter also masks server
# admin passwords and console tokens (the console-auth-token API has the
# token in its URL), on those loggers only.
_TOKEN_IN_URL = re.compile(r"(token(?:=|%3D)|os-console-auth-tokens/)"
                           r"[^&\s\"'/]+", re.IGNORECASE)


class _RedactingFilter(std_logging.Filter):
    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: S110 - never break logging
            return True
        masked = strutils.mask_password(
            _TOKEN_IN_URL.sub(r"\1***", message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


HTTP_LOG = std_logging.getLogger(__name__ + ".http")
for _name in (HTTP_LOG.name, "keystoneauth.session.request",
              "keystoneauth.session.response", "keystoneauth.session.body",
              "urllib3.connectionpool"):
    std_logging.getLogger(_name).addFilter(_RedactingFilter())

NOVA_GROUP = "nova"

# HTTP statuses worth another try: the service or a proxy in front of it
# failed, the request may succeed a moment later.
TRANSIENT_STATUSES = frozenset([500, 502, 503, 504])

# Console type -> protocol of Nova's remote-consoles API.
CONSOLE_PROTOCOLS = {
    "spice-direct": "spice",
    "spice-html5": "spice",
    "novnc": "vnc",
}
SPICE_DIRECT = "spice-direct"
SPICE_DIRECT_MIN_VERSION = api_versions.APIVersion("2.99")

# Minimum microversions of what the driver uses.
TAGS_AT_CREATE_VERSION = api_versions.APIVersion("2.52")
LOCK_REASON_VERSION = api_versions.APIVersion("2.73")

# Host aggregates show their UUID (the Placement aggregate Nova mirrors
# them to) from this microversion.
AGGREGATE_UUID_VERSION = "2.41"
# Placement's member_of=in:... filter on resource providers.
MEMBER_OF_MIN_VERSION = (1, 3)

# Nova's scheduler message when no host has room for a server.
NO_VALID_HOST = "No valid host"

# Nova tag rules.
MAX_TAGS = 50
MAX_TAG_LENGTH = 60

# Placement resource classes the capacity report covers, and their names
# in the report.
CAPACITY_CLASSES = {"VCPU": "vcpus", "MEMORY_MB": "memory_mb"}


def _status_of(exc):
    """The HTTP status of a client exception, or None."""
    if isinstance(exc, nova_exc.ClientException):
        return exc.code
    if isinstance(exc, ks_exc.HttpError):
        return exc.http_status
    return None


def _is_transient(exc, idempotent):
    """Whether ``exc`` is worth a retry.

    A connection that could not be made is always retried. A timeout or a
    5xx answer may come after the request was carried out, so those are
    retried only for idempotent calls.
    """
    if isinstance(exc, ks_exc.ConnectTimeout):
        return idempotent
    if isinstance(exc, (ks_exc.ConnectFailure, ks_exc.DiscoveryFailure)):
        # Nothing was carried out: the connection could not be made, or
        # Keystone's version discovery failed (the same, seen earlier).
        return True
    if isinstance(exc, ks_exc.Unauthorized):
        return False
    status = _status_of(exc)
    return idempotent and status in TRANSIENT_STATUSES


def _describe(exc, secret=False):
    """A message for ``exc`` fit for logs and API errors.

    With ``secret`` (console calls, whose URLs carry tokens) only the kind
    of error and the status are kept.
    """
    status = _status_of(exc)
    if secret:
        return "%s%s" % (type(exc).__name__,
                         " (HTTP %s)" % status if status else "")
    return "%s: %s" % (type(exc).__name__, exc)


def _stop_at(deadline):
    """A tenacity stop: no retry whose wait would pass ``deadline``."""
    def stop(retry_state):
        return time.monotonic() + retry_state.upcoming_sleep >= deadline
    return stop


def _spice_direct_refusal(conf, group=NOVA_GROUP):
    """Why spice-direct cannot be had with ``conf``, or None."""
    version = api_versions.APIVersion(conf[group].console_api_version)
    if version < SPICE_DIRECT_MIN_VERSION:
        return ("spice-direct needs [%s] console_api_version %s or newer "
                "(it is %s)" % (group, SPICE_DIRECT_MIN_VERSION.get_string(),
                                version.get_string()))
    return None


def _field(resp, path, console_type, server_id):
    """``resp``'s JSON at ``path``; an unreadable answer is no console.

    The body is never quoted: it holds the console URL and its token.
    """
    try:
        value = resp.json()
        for key in path:
            value = value[key]
    except (ValueError, KeyError, TypeError):
        value = None
    if not value:
        raise exception.ConsoleUnavailable(
            console_type=console_type, server=server_id,
            reason="Nova's answer has no %s" % ".".join(path))
    return value


def _validate_tag(tag):
    if (not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH
            or "/" in tag or "," in tag):
        raise exception.Invalid(
            reason="invalid server tag %r: 1 to %d characters, no '/' or "
                   "','" % (tag, MAX_TAG_LENGTH))


def broker_tags_and_metadata(spec):
    """The tags and metadata to boot ``spec`` with.

    Every server the broker makes names the broker and its pool in both
    tags (for listing) and metadata (for people reading ``server show``):
    the pool comes from ``spec.metadata[META_POOL]`` or a tag starting with
    ``POOL_TAG_PREFIX``; a spec naming neither is refused.
    """
    metadata = {str(k): str(v) for k, v in (spec.metadata or {}).items()}
    tags = list(dict.fromkeys(spec.tags or []))
    pool = metadata.get(base.META_POOL)
    pool_tags = [t for t in tags if t.startswith(base.POOL_TAG_PREFIX)]
    if not pool and pool_tags:
        pool = pool_tags[0][len(base.POOL_TAG_PREFIX):]
    if not pool:
        raise exception.Invalid(
            reason="server %s names no pool (metadata %s or a %s* tag)"
                   % (spec.name, base.META_POOL, base.POOL_TAG_PREFIX))
    metadata[base.META_POOL] = pool
    metadata.setdefault(base.META_BROKER, base.BROKER_TAG)
    for tag in (base.BROKER_TAG, base.POOL_TAG_PREFIX + pool):
        if tag not in tags:
            tags.append(tag)
    for tag in tags:
        _validate_tag(tag)
    if len(tags) > MAX_TAGS:
        raise exception.Invalid(reason="a server has at most %d tags"
                                % MAX_TAGS)
    for key, value in metadata.items():
        if not key or len(key) > 255 or len(value) > 255:
            raise exception.Invalid(
                reason="metadata keys and values are at most 255 "
                       "characters (key %r)" % key)
    return tags, metadata


def _nics(networks):
    """novaclient's ``nics`` argument for the spec's networks.

    An empty list lets Nova choose ("auto"); "auto" or "none" may be given
    alone; otherwise each entry is a network UUID or a dict with one of
    net-id/uuid, port-id/port and optionally v4-fixed-ip/v6-fixed-ip/tag.
    """
    if not networks:
        return "auto"
    if isinstance(networks, str):
        networks = [networks]
    if len(networks) == 1 and networks[0] in ("auto", "none"):
        return networks[0]
    nics = []
    for net in networks:
        if isinstance(net, str):
            nics.append({"net-id": net})
            continue
        nic = dict(net)
        if "uuid" in nic:
            nic["net-id"] = nic.pop("uuid")
        if "port" in nic:
            nic["port-id"] = nic.pop("port")
        nics.append(nic)
    return nics


def _addresses(addresses):
    """The server's IP addresses: fixed before floating, IPv4 first."""
    found = []
    for net in (addresses or {}).values():
        for addr in net:
            kind = addr.get("OS-EXT-IPS:type", "fixed")
            found.append((kind != "fixed", addr.get("version", 4) != 4,
                          addr["addr"]))
    return [addr for _, _, addr in sorted(found, key=lambda a: a[:2])]


def _to_server(data):
    """A :class:`base.Server` from Nova's JSON for one server."""
    status = data.get("status") or base.BUILD
    if status == "HARD_REBOOT":
        status = base.REBOOT
    fault = data.get("fault") or {}
    return base.Server(
        id=data["id"],
        name=data.get("name"),
        status=status,
        host=data.get("OS-EXT-SRV-ATTR:host"),
        addresses=_addresses(data.get("addresses")),
        metadata=dict(data.get("metadata") or {}),
        tags=list(data.get("tags") or []),
        fault=fault.get("message"),
    )


class NovaComputeDriver(base.ComputeDriver):
    """Nova behind the :class:`base.ComputeDriver` interface."""

    def __init__(self, conf, group=NOVA_GROUP):
        """A driver of the cloud configured in ``group``.

        ``[nova]`` for the default cloud, ``[cloud:NAME]`` for a named
        one.
        """
        self.conf = conf
        self.group = group
        self._lock = threading.Lock()
        self._session = None
        self._auth = None
        self._adapter = None
        self._placement = None
        self._nova = None
        self._flavors = {}

    # -- clients -----------------------------------------------------------

    @property
    def _opts(self):
        return self.conf[self.group]

    def _load(self):
        """Build the session, adapters and novaclient once, lazily."""
        with self._lock:
            if self._nova is not None:
                return
            try:
                version = api_versions.APIVersion(self._opts.api_version)
                api_versions.check_version(version)
                if version < TAGS_AT_CREATE_VERSION:
                    raise exception.ComputeError(
                        reason="[nova] api_version must be %s or newer"
                               % TAGS_AT_CREATE_VERSION.get_string())
                auth = ks_loading.load_auth_from_conf_options(
                    self.conf, self.group)
                if auth is None:
                    raise exception.ComputeError(
                        reason="[%s] auth_type is not set" % self.group)
                session = ks_loading.load_session_from_conf_options(
                    self.conf, self.group, auth=auth)
                adapter = ks_loading.load_adapter_from_conf_options(
                    self.conf, self.group, session=session, auth=auth)
                adapter.logger = HTTP_LOG
                placement = ks_adapter.Adapter(
                    session, auth=auth, service_type="placement",
                    interface=adapter.interface,
                    region_name=adapter.region_name, logger=HTTP_LOG)
                nova = nova_client.Client(
                    version, session=session, auth=auth,
                    endpoint_override=adapter.endpoint_override,
                    endpoint_type=adapter.interface,
                    region_name=adapter.region_name,
                    service_type=adapter.service_type,
                    service_name=adapter.service_name, logger=HTTP_LOG)
            except exception.VdiBrokerException:
                raise
            except (ks_exc.ClientException, nova_exc.UnsupportedVersion,
                    TypeError, ValueError) as e:
                raise exception.ComputeError(
                    reason="invalid [%s] configuration: %s"
                           % (self.group, _describe(e))) from None
            self._auth, self._session = auth, session
            self._adapter, self._placement = adapter, placement
            self._nova = nova

    @property
    def nova(self):
        if self._nova is None:
            self._load()
        return self._nova

    @property
    def adapter(self):
        if self._nova is None:
            self._load()
        return self._adapter

    @property
    def placement(self):
        if self._nova is None:
            self._load()
        return self._placement

    # -- calling with retries and translated errors ------------------------

    def _call(self, what, func, *args, idempotent=True, server_id=None,
              secret=False, deadline=None, **kwargs):
        """Run ``func`` with retries; translate its errors.

        ``deadline`` (time.monotonic()): no attempt or wait goes beyond
        it; each request's timeout is cut to the time left.
        """
        opts = self._opts
        stop = tenacity.stop_after_attempt(opts.retries + 1)
        if deadline is not None:
            func = self._until(func, deadline)
            stop = stop | _stop_at(deadline)

        def log_retry(state):
            metrics.nova_retry(what)
            LOG.warning("Nova call %(what)s failed (%(error)s); retry "
                        "%(n)d of %(max)d",
                        {"what": what, "n": state.attempt_number,
                         "max": opts.retries,
                         "error": _describe(state.outcome.exception(),
                                            secret)})

        retrying = tenacity.Retrying(
            stop=stop,
            wait=tenacity.wait_exponential(multiplier=opts.retry_delay,
                                           max=opts.retry_max_delay),
            retry=tenacity.retry_if_exception(
                lambda e: _is_transient(e, idempotent)),
            before_sleep=log_retry,
            reraise=True)
        # Timed and counted with its retries, by the translated error.
        with metrics.nova_request(what):
            try:
                return retrying(func, *args, **kwargs)
            except exception.VdiBrokerException:
                raise
            except Exception as e:
                error = self._translate(e, what, server_id, secret)
                # A console call's chained exception would carry the URL
                # and its token into tracebacks: drop it.
                raise error from (None if secret else e)

    def _until(self, func, deadline):
        """``func`` with a request timeout cut to what is left."""
        def call(*args, **kwargs):
            left = deadline - time.monotonic()
            if left <= 0:
                raise ks_exc.ConnectTimeout("no time left")
            timeout = self._session.timeout
            kwargs["timeout"] = left if timeout is None else min(left,
                                                                 timeout)
            return func(*args, **kwargs)
        return call

    @staticmethod
    def _translate(exc, what, server_id, secret):
        status = _status_of(exc)
        reason = "%s: %s" % (what, _describe(exc, secret))
        if status == 404 and server_id:
            return exception.ServerNotFound(server=server_id)
        if isinstance(exc, ks_exc.ConnectTimeout):
            # keystoneauth1 raises it for connect and read timeouts alike.
            return exception.ComputeTimeout(reason=reason)
        if isinstance(exc, (ks_exc.ConnectionError, ks_exc.EndpointNotFound,
                            ks_exc.DiscoveryFailure,
                            ks_exc.AuthorizationFailure)):
            return exception.ComputeUnavailable(reason=reason)
        if status == 401 or isinstance(exc, ks_exc.Unauthorized):
            return exception.ComputeUnavailable(
                reason="%s: authentication with the [nova] credentials "
                       "failed" % what)
        if status in TRANSIENT_STATUSES:
            return exception.ComputeUnavailable(reason=reason, status=status)
        return exception.ComputeError(reason=reason, status=status)

    # -- servers -----------------------------------------------------------

    def _find_flavor(self, flavor):
        try:
            return self.nova.flavors.get(flavor)
        except nova_exc.NotFound:
            matches = [f for f in self.nova.flavors.list(is_public=None)
                       if f.name == flavor]
            return matches[0] if len(matches) == 1 else None

    def get_flavor(self, flavor):
        """vCPUs and memory of a flavor (by ID or name)."""
        found = self._call("flavor", self._find_flavor, flavor)
        if found is None:
            raise exception.Invalid(
                reason="flavor %s not found in Nova" % flavor)
        return {"vcpus": found.vcpus, "memory_mb": found.ram}

    def _flavor_id(self, flavor):
        """Resolve a flavor ID or name to its ID (cached)."""
        if flavor not in self._flavors:
            found = self._call("flavor", self._find_flavor, flavor)
            if found is None:
                raise exception.Invalid(
                    reason="flavor %s not found in Nova" % flavor)
            self._flavors[flavor] = found.id
        return self._flavors[flavor]

    def create_server(self, spec):
        tags, metadata = broker_tags_and_metadata(spec)
        flavor = self._flavor_id(spec.flavor)
        LOG.info("Creating server %(name)s (pool %(pool)s, flavor %(flavor)s,"
                 " image %(image)s)",
                 {"name": spec.name, "pool": metadata[base.META_POOL],
                  "flavor": spec.flavor, "image": spec.image})
        created = self._call(
            "create", self.nova.servers.create, spec.name, spec.image,
            flavor, meta=metadata, nics=_nics(spec.networks),
            availability_zone=spec.availability_zone, tags=tags,
            idempotent=False)
        return base.Server(id=created.id, name=spec.name, status=base.BUILD,
                           metadata=metadata, tags=tags)

    def get_server(self, server_id):
        server = self._call("show", self.nova.servers.get, server_id,
                            server_id=server_id)
        return _to_server(server.to_dict())

    def list_servers(self, tags=None):
        search = {}
        if tags:
            tags = list(tags)
            for tag in tags:
                _validate_tag(tag)
            search["tags"] = ",".join(tags)
        page_size = self._opts.list_page_size
        servers = {}
        marker = None
        while True:
            page = self._call("list", self.nova.servers.list, detailed=True,
                              search_opts=search, marker=marker,
                              limit=page_size)
            if not page:
                break
            for server in page:
                servers.setdefault(server.id, _to_server(server.to_dict()))
            marker = page[-1].id
        return list(servers.values())

    def delete_server(self, server_id):
        LOG.info("Deleting server %s", server_id)
        try:
            self._call("delete", self.nova.servers.delete, server_id,
                       server_id=server_id)
        except exception.ServerNotFound:
            LOG.debug("Server %s was already gone", server_id)

    def reboot_server(self, server_id, hard=False):
        LOG.info("Rebooting server %(id)s (%(how)s)",
                 {"id": server_id, "how": "hard" if hard else "soft"})
        self._call("reboot", self.nova.servers.reboot, server_id,
                   reboot_type="HARD" if hard else "SOFT",
                   idempotent=False, server_id=server_id)

    def rebuild_server(self, server_id, image):
        LOG.info("Rebuilding server %(id)s from image %(image)s",
                 {"id": server_id, "image": image})
        self._call("rebuild", self.nova.servers.rebuild, server_id, image,
                   idempotent=False, server_id=server_id)

    def lock_server(self, server_id, reason):
        LOG.info("Locking server %(id)s: %(reason)s",
                 {"id": server_id, "reason": reason})
        client = self.nova
        kwargs = {}
        if reason and client.api_version >= LOCK_REASON_VERSION:
            kwargs["reason"] = reason
        self._call("lock", client.servers.lock, server_id,
                   server_id=server_id, **kwargs)

    def unlock_server(self, server_id):
        LOG.info("Unlocking server %s", server_id)
        self._call("unlock", self.nova.servers.unlock, server_id,
                   server_id=server_id)

    def wait_for_server(self, server_id, timeout=None):
        """Poll until the server leaves BUILD; return it when ACTIVE.

        Raises NoValidHost or BuildFailed (with Nova's fault) when it goes
        to ERROR, BuildTimeout after ``timeout`` (``[nova] boot_timeout``).
        """
        timeout = self._opts.boot_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            server = self.get_server(server_id)
            if server.status == base.ACTIVE:
                return server
            if server.status == base.ERROR:
                reason = server.fault or "the server went to ERROR"
                if NO_VALID_HOST in reason:
                    raise exception.NoValidHost(server=server_id,
                                                reason=reason)
                raise exception.BuildFailed(server=server_id, reason=reason)
            if time.monotonic() >= deadline:
                raise exception.BuildTimeout(server=server_id,
                                             timeout=timeout)
            time.sleep(min(self._opts.boot_poll_interval,
                           max(0.0, deadline - time.monotonic())))

    # -- consoles ----------------------------------------------------------

    @classmethod
    def console_types(cls, conf, group=NOVA_GROUP):
        """spice-html5 and noVNC; spice-direct from microversion 2.99."""
        types = {base.SPICE_HTML5, base.NOVNC}
        if _spice_direct_refusal(conf, group) is None:
            types.add(base.SPICE_DIRECT)
        return frozenset(types)

    @classmethod
    def console_refusal(cls, conf, console_type, group=NOVA_GROUP):
        if console_type == SPICE_DIRECT:
            return _spice_direct_refusal(conf, group)
        return super().console_refusal(conf, console_type)

    def get_console(self, server_id, console_type):
        """Open a console of ``console_type`` on the server.

        Returns a dict with ``type`` and ``url``; for ``spice-direct`` also
        ``host``, ``port``, ``tls_port`` (None without TLS) and
        ``password`` when Nova gives one. The URL and any token are
        secrets: never log them.

        The whole lookup, retries included, takes at most ``[nova]
        console_timeout`` seconds (ConsoleTimeout). Nova's 409 (the server
        is not in a state to give a console) is ConsoleNotReady; a console
        type Nova does not offer (400, 501), a refused or expired token,
        or an answer the driver cannot read are ConsoleUnavailable.
        """
        protocol = CONSOLE_PROTOCOLS.get(console_type)
        if protocol is None:
            raise exception.Invalid(reason="unknown console type %s"
                                    % console_type)
        if console_type == SPICE_DIRECT:
            refusal = _spice_direct_refusal(self.conf, self.group)
            if refusal:
                raise exception.ConsoleUnavailable(
                    console_type=console_type, server=server_id,
                    reason=refusal)
            version = self._opts.console_api_version
        else:
            version = self._opts.api_version
        timeout = self._opts.console_timeout
        deadline = time.monotonic() + timeout
        try:
            result = self._open_console(server_id, console_type, protocol,
                                        version, deadline)
        except exception.ComputeTimeout:
            raise exception.ConsoleTimeout(
                console_type=console_type, server=server_id,
                timeout=timeout) from None
        LOG.debug("Opened a %(type)s console on server %(id)s",
                  {"type": console_type, "id": server_id})
        return result

    def _open_console(self, server_id, console_type, protocol, version,
                      deadline):
        body = {"remote_console": {"protocol": protocol,
                                   "type": console_type}}
        try:
            resp = self._call(
                "console", self.adapter.post,
                "/servers/%s/remote-consoles" % parse.quote(server_id),
                json=body, microversion=version, log=False,
                connect_retries=0, server_id=server_id, secret=True,
                deadline=deadline)
        except (exception.ServerNotFound, exception.ComputeUnavailable):
            raise
        except exception.ComputeError as e:
            # 409: the server is not ready (building, stopped, rebooting,
            # in error); 400: console type disabled; 501: the hypervisor
            # has no such console.
            error = (exception.ConsoleNotReady
                     if e.kwargs.get("status") == 409
                     else exception.ConsoleUnavailable)
            raise error(console_type=console_type, server=server_id,
                        reason=e.kwargs.get("reason", e.message)) from None
        url = _field(resp, ("remote_console", "url"), console_type,
                     server_id)
        result = {"type": console_type, "url": url}
        if console_type == SPICE_DIRECT:
            result.update(self._console_connect_info(
                server_id, console_type, url, version, deadline))
        return result

    def _console_connect_info(self, server_id, console_type, url, version,
                              deadline):
        """Exchange a console URL's token for host and ports (admin API)."""
        token = parse.parse_qs(parse.urlsplit(url).query).get("token")
        if not token:
            raise exception.ConsoleUnavailable(
                console_type=console_type, server=server_id,
                reason="the console URL carries no token")
        try:
            resp = self._call(
                "console-auth-token", self.adapter.get,
                "/os-console-auth-tokens/%s" % parse.quote(token[0], safe=""),
                microversion=version, log=False, connect_retries=0,
                secret=True, deadline=deadline)
        except exception.ComputeUnavailable:
            raise
        except exception.ComputeError as e:
            # 404: the token expired already; 403: the [nova] user is not
            # allowed the admin console-auth-token API.
            raise exception.ConsoleUnavailable(
                console_type=console_type, server=server_id,
                reason=e.kwargs.get("reason", e.message)) from None
        info = _field(resp, ("console",), console_type, server_id)
        host = _field(resp, ("console", "host"), console_type, server_id)
        if info.get("instance_uuid") not in (None, server_id):
            raise exception.ConsoleUnavailable(
                console_type=console_type, server=server_id,
                reason="the console token belongs to another server")
        result = {"host": host, "port": info.get("port"),
                  "tls_port": info.get("tls_port")}
        if info.get("password"):
            result["password"] = info["password"]
        return result

    # -- capacity (R11) ----------------------------------------------------

    def _placement_get(self, path):
        resp = self._call("placement", self.placement.get, path,
                          microversion=self._opts.placement_api_version)
        return resp.json()

    def zone_aggregates(self, zone):
        """UUIDs of the host aggregates Nova maps to ``zone``.

        In Nova an availability zone is the metadata
        ``availability_zone=<zone>`` of host aggregates, and Nova mirrors
        each host aggregate's hosts into a Placement aggregate of the same
        UUID (what its scheduler's availability-zone prefilter asks
        Placement for with ``member_of``). Needs the admin
        ``os-aggregates`` API.
        """
        resp = self._call("aggregates", self.adapter.get, "/os-aggregates",
                          microversion=AGGREGATE_UUID_VERSION)
        return sorted(a["uuid"] for a in resp.json().get("aggregates", [])
                      if a.get("availability_zone") == zone and
                      a.get("uuid"))

    def _providers(self, availability_zone):
        """The resource providers counted for ``availability_zone``."""
        if not availability_zone:
            return self._placement_get(
                "/resource_providers")["resource_providers"]
        version = tuple(int(p) for p in
                        self._opts.placement_api_version.split("."))
        if version < MEMBER_OF_MIN_VERSION:
            raise exception.ComputeError(
                reason="capacity by availability zone needs [%s] "
                       "placement_api_version 1.3 or newer" % self.group)
        aggregates = self.zone_aggregates(availability_zone)
        if not aggregates:
            # A zone no aggregate names (Nova's default zone, say): its
            # hosts cannot be told apart in Placement; count them all.
            LOG.debug("Availability zone %s maps to no host aggregate: "
                      "capacity counts every provider", availability_zone)
            return self._placement_get(
                "/resource_providers")["resource_providers"]
        return self._placement_get(
            "/resource_providers?member_of=in:%s" % ",".join(
                parse.quote(a) for a in aggregates))["resource_providers"]

    def get_capacity(self, availability_zone=None):
        """Free vCPU and memory per resource provider and in total.

        free = (total - reserved) * allocation_ratio - used, per provider
        and resource class (never below zero). Providers without VCPU or
        MEMORY_MB inventory (shared storage, devices) are left out. With
        ``availability_zone``, only the providers of the host aggregates
        Nova maps to that zone (:meth:`zone_aggregates`) count.

        Returns ``{"providers": [{"uuid", "name", "vcpus": {...},
        "memory_mb": {...}}], "total": {"vcpus": {"free", "capacity",
        "used"}, "memory_mb": {...}, "providers": n}}``.
        """
        providers = []
        total = {name: {"free": 0, "capacity": 0, "used": 0}
                 for name in CAPACITY_CLASSES.values()}
        rps = self._providers(availability_zone)
        for rp in rps:
            path = "/resource_providers/%s" % parse.quote(rp["uuid"])
            inventories = self._placement_get(path + "/inventories")
            inventories = inventories.get("inventories", {})
            if not any(rc in inventories for rc in CAPACITY_CLASSES):
                continue
            usages = self._placement_get(path + "/usages").get("usages", {})
            entry = {"uuid": rp["uuid"], "name": rp.get("name")}
            for rc, name in CAPACITY_CLASSES.items():
                inv = inventories.get(rc)
                if inv is None:
                    entry[name] = None
                    continue
                ratio = float(inv.get("allocation_ratio", 1.0))
                capacity = int((inv["total"] - inv.get("reserved", 0))
                               * ratio)
                used = int(usages.get(rc, 0))
                figures = {
                    "total": inv["total"],
                    "reserved": inv.get("reserved", 0),
                    "allocation_ratio": ratio,
                    "max_unit": inv.get("max_unit", inv["total"]),
                    "capacity": capacity,
                    "used": used,
                    "free": max(0, capacity - used),
                }
                entry[name] = figures
                for key in ("free", "capacity", "used"):
                    total[name][key] += figures[key]
            providers.append(entry)
        total["providers"] = len(providers)
        return {"providers": providers, "total": total}
