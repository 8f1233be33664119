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

"""LDAP and Active Directory identity driver (the only ldap3 importer).

A login is three short requests on pooled connections:

1. the service account searches ``[ldap] user_base`` for exactly one entry
   matching ``(&<user_filter>(<user_name_attribute>=<escaped name>))``;
2. the user's DN is bound with the password on a separate pool of
   "authentication" connections (never used for searches);
3. the service account reads the user's groups, direct and nested, in the
   configured ``group_mode`` (``memberof``, ``member`` or ``ad_in_chain``),
   with a short-lived cache of group -> parent groups.

The search of 1., the bind of 2. and the group searches of 3. are built
by ldap3 once per thread and only their values change per request:
building them cost most of the CPU.

Robustness: the servers of ``[ldap] urls`` are tried in order; one that
refuses, times out on connect (``connect_timeout``) or accepts and never
answers (``receive_timeout``) is skipped for ``server_dead_retry`` seconds
and the request fails over to the next one. When every server failed
recently a login fails at once with IdentityUnavailable (503) instead of
waiting again. Pooled connections carry TCP keepalive, are recycled after
``pool_idle_timeout`` and are replaced transparently when the directory
closed them (e.g. a restart): the request is retried once on a fresh
connection.

Security: an unknown user and a wrong password give the same LoginFailed
(an unknown user also costs a bind, so timings match); empty passwords
are refused before anything is sent (an empty simple bind is an
"unauthenticated bind" that many servers accept); every user-supplied
value in a filter is escaped (or, for names and DNs, sent as a value);
passwords are never logged nor kept on connection objects or requests.
"""

import collections
import contextlib
import math
import re
import secrets
import socket
import ssl
import threading
import time

import ldap3
from ldap3.core import exceptions as ldap_exc
from ldap3.operation import bind as ldap3_bind
from ldap3.operation import search as ldap3_search
from ldap3.protocol.sasl.sasl import validate_simple_password
from ldap3.utils import dn as ldap3_dn
from oslo_log import log as logging

from vdi_broker import exception
from vdi_broker.i18n import _
from vdi_broker.identity import base
from vdi_broker.identity import dn as dn_mod
from vdi_broker.identity import ttl_cache
from vdi_broker import metrics

LOG = logging.getLogger(__name__)

# LDAP_MATCHING_RULE_IN_CHAIN (Active Directory): nested membership in one
# search. OpenLDAP answers it with success and no entries.
MATCHING_RULE_IN_CHAIN = "1.2.840.113556.1.4.1941"

MAX_USERNAME_LENGTH = 256
MAX_PASSWORD_LENGTH = 4096

# Bind results that mean "these credentials do not work" (not an outage):
# inappropriateAuthentication, invalidCredentials, insufficientAccessRights,
# unwillingToPerform (e.g. AD: account must change password).
_BIND_REFUSED = {48, 49, 50, 53}
_INVALID_CREDENTIALS = 49
# Active Directory says why it refused a bind in the message ("...,
# data 775, ..."): the failed-login event's reason, never the client's.
_AD_DATA = re.compile(r"\bdata ([0-9a-f]{3,4})\b", re.IGNORECASE)
_AD_REASONS = {"52e": "wrong_password", "525": "unknown_user",
               "530": "account_refused", "531": "account_refused",
               "532": "password_expired", "533": "account_disabled",
               "701": "account_disabled", "773": "password_expired",
               "775": "account_locked"}
# Results that mean the server cannot serve right now: try another one.
_SERVER_UNAVAILABLE = {3, 11, 51, 52, 80}
_SUCCESS = 0
_SIZE_LIMIT_EXCEEDED = 4
_NO_SUCH_OBJECT = 32
_REFERRAL = 10

_SCOPES = {"one": ldap3.LEVEL, "sub": ldap3.SUBTREE}
_TLS_REQ_CERT = {"demand": ssl.CERT_REQUIRED, "allow": ssl.CERT_OPTIONAL,
                 "never": ssl.CERT_NONE}

# The value requests are built with before their real one is set.
_PLACEHOLDER = "vdi-broker-placeholder"
# This thread's bind request (see LdapIdentityDriver._simple_bind).
_BIND_REQUESTS = threading.local()
# _find_user: more than one entry has the login name.
_AMBIGUOUS = object()


def _refusal_reason(result):
    """Why the directory refused a bind, for the failed-login event."""
    match = _AD_DATA.search(result.get("message") or "")
    if match:
        return _AD_REASONS.get(match.group(1).lower(), "account_refused")
    if result.get("result") == _INVALID_CREDENTIALS:
        return "wrong_password"
    return "account_refused"


def _prepared_password(password):
    """The password as ldap3's bind sends it (SASLprep, UTF-8); bytes as is.

    SASLprep (RFC 4013) leaves printable ASCII as it is: skip its slow pass.
    """
    if isinstance(password, str) and password.isascii() and (
            password.isprintable()):
        return password.encode("ascii")
    return validate_simple_password(password)


class _ServerError(Exception):
    """A server failed (network, TLS, timeout or unavailable result)."""

    def __init__(self, reason, timeout=False):
        super().__init__(reason)
        self.reason = reason
        self.timeout = timeout


def _wrap_filter(flt):
    flt = (flt or "").strip()
    if not flt:
        return ""
    return flt if flt.startswith("(") else "(%s)" % flt


def _describe(error):
    """A readable one-line reason from an ldap3/socket/ssl exception.

    ldap3 wraps errors in tuples of tuples; dig out the innermost text.
    """
    seen = 0
    while seen < 10:
        seen += 1
        if isinstance(error, BaseException):
            args = error.args
            if len(args) == 2 and isinstance(args[1], list) and args[1]:
                # LDAPSocketOpenError('unable to open socket', [(exc, addr)])
                error = args[1][-1][0]
                continue
            if not args:
                return error.__class__.__name__
            error = args[0]
        elif isinstance(error, (tuple, list)):
            if not error:
                return ""
            error = error[0]
        else:
            break
    text = str(error)
    for prefix in ("socket ssl wrapping error: ", "wrap socket error: ",
                   "socket connection error while opening: ",
                   "error receiving data: "):
        text = text.replace(prefix, "")
    while len(text) > 5 and text[:2] in ("('", '("') and text[-3:] in (
            "',)", '",)'):
        text = text[2:-3]
    return text


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _entries(conn):
    """(dn, {attribute.lower(): [str, ...]}) of the last search."""
    out = []
    for item in conn.response or ():
        if item.get("type") != "searchResEntry":
            continue
        raw = item.get("raw_attributes") or {}
        attrs = {k.lower(): [_decode(v) for v in vals]
                 for k, vals in raw.items()}
        out.append((item.get("dn") or "", attrs))
    return out


class _Server:
    """One configured URL and its health."""

    def __init__(self, url, ldap_server, starttls):
        self.url = url
        self.ldap_server = ldap_server
        self.starttls = starttls
        self.dead_until = 0.0
        self.failed = False
        self.last_error = None
        # Bumped when the server closed a connection under us: pooled
        # connections of an older generation are replaced before use.
        self.generation = 0


class _Conn:
    __slots__ = ("conn", "server", "generation", "last_used", "broken",
                 "fresh")

    def __init__(self, conn, server):
        self.conn = conn
        self.server = server
        self.generation = server.generation
        self.last_used = time.monotonic()
        self.broken = False
        # True until the connection went back to the pool once.
        self.fresh = True

    def close(self):
        # Closing a broken socket may fail; it is closed either way.
        try:
            self.conn.unbind()
        except Exception:  # nosec B110
            pass


class _Pool:
    """At most ``size`` connections of one kind, reused LIFO."""

    def __init__(self, driver, kind, size, wait_timeout, idle_timeout):
        self.driver = driver
        self.kind = kind
        self.size = size
        self.wait_timeout = wait_timeout
        self.idle_timeout = idle_timeout
        self._slots = threading.BoundedSemaphore(size)
        self._idle = collections.deque()
        self._lock = threading.Lock()

    def _take_idle(self):
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    return None
                pc = self._idle.pop()
            if (pc.generation != pc.server.generation or pc.conn.closed or
                    (self.idle_timeout and
                     now - pc.last_used > self.idle_timeout)):
                pc.close()
                continue
            return pc

    @contextlib.contextmanager
    def connection(self, fresh=False):
        if not self._slots.acquire(timeout=self.wait_timeout):
            raise exception.IdentityUnavailable(
                reason=_("all %(n)d %(kind)s connections to the directory "
                         "stayed busy for %(t)ss") %
                {"n": self.size, "kind": self.kind, "t": self.wait_timeout})
        try:
            pc = None if fresh else self._take_idle()
            if pc is None:
                pc = self.driver._connect(self.kind)
            try:
                yield pc
            finally:
                if pc.broken or pc.conn.closed:
                    pc.close()
                else:
                    pc.last_used = time.monotonic()
                    pc.fresh = False
                    with self._lock:
                        self._idle.append(pc)
        finally:
            self._slots.release()

    def close(self):
        with self._lock:
            idle, self._idle = list(self._idle), collections.deque()
        for pc in idle:
            pc.close()

    def __len__(self):
        return len(self._idle)


class LdapIdentityDriver(base.IdentityDriver):
    """Authenticate thin-client users against LDAP or Active Directory."""

    def __init__(self, conf):
        self.conf = conf
        self.opts = opts = conf.ldap
        if not opts.urls:
            raise exception.Invalid(reason=_("[ldap] urls is empty"))
        self._lock = threading.Lock()
        self._servers = [self._make_server(url) for url in opts.urls]
        self._service_pool = _Pool(self, "service", opts.pool_size,
                                   opts.pool_wait_timeout,
                                   opts.pool_idle_timeout)
        self._auth_pool = _Pool(self, "authentication", opts.pool_size,
                                opts.pool_wait_timeout,
                                opts.pool_idle_timeout)
        self.group_cache = ttl_cache.TTLCache(opts.group_cache_ttl,
                                              opts.group_cache_size)
        try:
            # ldap3 refuses a base with spaces around "=": send it clean.
            self._user_base = dn_mod.canonical(opts.user_base)
            self._group_base = dn_mod.canonical(opts.group_base)
        except ValueError as e:
            raise exception.Invalid(reason=_("[ldap] user_base or "
                                             "group_base: %s") % e)
        self._user_filter = _wrap_filter(opts.user_filter)
        self._group_filter = _wrap_filter(opts.group_filter)
        self._user_scope = _SCOPES[opts.user_scope]
        self._group_scope = _SCOPES[opts.group_scope]
        self._time_limit = max(1, int(math.ceil(opts.receive_timeout)))
        attrs = [opts.user_name_attribute, opts.user_display_name_attribute]
        attrs += list(opts.user_attribute_map.values())
        if opts.group_mode == "memberof":
            attrs.append(opts.user_memberof_attribute)
        self._user_attributes = sorted({a for a in attrs if a})
        self._requests = threading.local()  # see _prebuilt

    # -- servers and connections -------------------------------------------

    def _make_server(self, url):
        opts = self.opts
        ldaps = url.lower().startswith("ldaps://")
        if not (ldaps or url.lower().startswith("ldap://")):
            raise exception.Invalid(
                reason=_("[ldap] urls: %s is neither ldap:// nor "
                         "ldaps://") % url)
        try:
            tls = ldap3.Tls(validate=_TLS_REQ_CERT[opts.tls_req_cert],
                            ca_certs_file=opts.ca_file or None,
                            local_certificate_file=opts.cert_file or None,
                            local_private_key_file=opts.key_file or None)
        except ldap_exc.LDAPSSLConfigurationError as e:
            raise exception.Invalid(
                reason=_("[ldap] TLS files (ca_file, cert_file, key_file): "
                         "%s") % _describe(e))
        server = ldap3.Server(url.rstrip("/"), use_ssl=ldaps, tls=tls,
                              get_info=ldap3.NONE,
                              connect_timeout=opts.connect_timeout)
        return _Server(url, server, starttls=opts.use_tls and not ldaps)

    def _candidates(self):
        """Servers to try now, in configured order; claims probes."""
        now = time.monotonic()
        claim = self.opts.connect_timeout + self.opts.receive_timeout
        out = []
        with self._lock:
            for server in self._servers:
                if server.dead_until <= now:
                    if server.failed:
                        # Let one request probe a server that failed; the
                        # others keep skipping it meanwhile.
                        server.dead_until = now + claim
                    out.append(server)
        return out

    def _mark_failed(self, server, reason):
        with self._lock:
            server.failed = True
            server.last_error = reason
            server.dead_until = time.monotonic() + self.opts.server_dead_retry
            server.generation += 1
        LOG.warning("LDAP server %(url)s failed: %(reason)s; skipping it "
                    "for %(retry)ss.", {"url": server.url, "reason": reason,
                                        "retry": self.opts.server_dead_retry})

    def _mark_ok(self, server):
        if server.failed or server.dead_until:
            with self._lock:
                was_failed = server.failed
                server.failed = False
                server.dead_until = 0.0
            if was_failed:
                LOG.info("LDAP server %s answers again.", server.url)

    def _unavailable_reason(self):
        now = time.monotonic()
        with self._lock:
            parts = ["%s: %s" % (s.url, s.last_error or _("not tried"))
                     for s in self._servers]
            retry = min((s.dead_until for s in self._servers),
                        default=now) - now
        reason = _("no directory server answered (%s)") % "; ".join(parts)
        return reason, max(1, int(math.ceil(retry)))

    def _set_socket_options(self, conn):
        sock = conn.socket
        if sock is None:
            return
        sock.settimeout(self.opts.receive_timeout)
        # Requests are small and answered at once: no Nagle delay.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.opts.keepalive_idle:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for name, value in (("TCP_KEEPIDLE", self.opts.keepalive_idle),
                                ("TCP_KEEPINTVL",
                                 self.opts.keepalive_interval),
                                ("TCP_KEEPCNT", self.opts.keepalive_count)):
                if hasattr(socket, name):
                    sock.setsockopt(socket.IPPROTO_TCP,
                                    getattr(socket, name), value)
        except OSError as e:
            LOG.debug("Cannot set TCP keepalive on LDAP socket: %s", e)

    def _open(self, server, kind):
        """An open (and, for the service pool, bound) connection."""
        # ldap3 remembers failed addresses for a while on its own; server
        # health is tracked here (server_dead_retry) instead.
        server.ldap_server.reset_availability()
        conn = ldap3.Connection(
            server.ldap_server, client_strategy=ldap3.SYNC,
            raise_exceptions=False, auto_referrals=False, read_only=True,
            receive_timeout=None, return_empty_attributes=False)
        try:
            conn.open(read_server_info=False)
            self._set_socket_options(conn)
            if server.starttls:
                conn.start_tls(read_server_info=False)
                self._set_socket_options(conn)
            if kind == "service" and self.opts.bind_dn:
                ok = self._simple_bind(conn, self.opts.bind_dn,
                                       self.opts.bind_password or "")
                if not ok:
                    code = conn.result.get("result")
                    desc = conn.result.get("description")
                    if code in _SERVER_UNAVAILABLE:
                        raise _ServerError(_("service bind: %s") % desc)
                    # A configuration error, the same on every server.
                    LOG.error("The LDAP service account %(dn)s cannot bind "
                              "to %(url)s: %(desc)s. Check [ldap] bind_dn "
                              "and bind_password.",
                              {"dn": self.opts.bind_dn, "url": server.url,
                               "desc": desc})
                    raise exception.IdentityUnavailable(
                        reason=_("the directory refused the service "
                                 "account (%s)") % desc)
        except exception.IdentityUnavailable:
            _Conn(conn, server).close()
            raise
        except Exception as e:
            _Conn(conn, server).close()
            raise self._server_error(e)
        return _Conn(conn, server)

    @staticmethod
    def _server_error(e):
        if isinstance(e, _ServerError):
            return e
        timeout = isinstance(e, (socket.timeout, TimeoutError)) or (
            "timed out" in str(e))
        reason = _describe(e)
        if "doesn't match any name" in reason:
            # ldap3 puts the whole certificate in this message.
            reason = _("TLS: the server certificate does not name the "
                       "host of the URL")
        elif isinstance(e, ssl.SSLError) or "ssl" in reason.lower() or (
                isinstance(e, (ldap_exc.LDAPStartTLSError,
                               ldap_exc.LDAPCertificateError))):
            reason = _("TLS: %s") % reason
        return _ServerError(reason, timeout=timeout)

    def _connect(self, kind):
        """Open a connection to the first server that works."""
        candidates = self._candidates()
        if not candidates:
            reason, retry = self._unavailable_reason()
            raise exception.IdentityUnavailable(reason=reason,
                                                retry_after=retry)
        for server in candidates:
            try:
                pc = self._open(server, kind)
            except _ServerError as e:
                self._mark_failed(server, e.reason)
                continue
            self._mark_ok(server)
            return pc
        reason, retry = self._unavailable_reason()
        raise exception.IdentityUnavailable(reason=reason, retry_after=retry)

    def _run(self, pool, operation, what):
        """Run operation(conn) on a pooled connection, failing over.

        A connection the server closed (restart, idle drop) is replaced and
        the operation retried on a fresh one; a server that times out or
        fails on a fresh connection is marked failed and skipped.
        ``what`` names the operation in the metrics.
        """
        with metrics.ldap_request(what):
            return self._run_failing_over(pool, operation)

    def _run_failing_over(self, pool, operation):
        last = None
        for attempt in range(len(self._servers) + 1):
            with pool.connection(fresh=attempt > 0) as pc:
                try:
                    return operation(pc.conn)
                except (_ServerError, ldap_exc.LDAPCommunicationError,
                        ldap_exc.LDAPResponseTimeoutError,
                        ldap_exc.LDAPSocketOpenError, OSError) as e:
                    pc.broken = True
                    err = self._server_error(e)
                    last = err
                    if pc.fresh:
                        self._mark_failed(pc.server, err.reason)
                    else:
                        # A pooled connection failed (the server restarted
                        # or a firewall dropped it): replace every idle
                        # connection to that server and retry on a fresh
                        # one, which tells whether the server itself is
                        # down or hung.
                        with self._lock:
                            pc.server.generation += 1
                        LOG.info("LDAP connection to %(url)s lost "
                                 "(%(reason)s); reconnecting.",
                                 {"url": pc.server.url,
                                  "reason": err.reason})
                except ldap_exc.LDAPException as e:
                    # A request ldap3 refuses to build, e.g. an invalid
                    # [ldap] user_filter: a configuration error.
                    pc.broken = True
                    LOG.error("LDAP request failed: %s", _describe(e))
                    raise exception.IdentityUnavailable(
                        reason=_("LDAP request failed: %s") % _describe(e))
        LOG.error("LDAP request failed on every server: %s",
                  last.reason if last else None)
        reason, retry = self._unavailable_reason()
        raise exception.IdentityUnavailable(reason=reason, retry_after=retry)

    # -- LDAP operations -----------------------------------------------------

    @staticmethod
    def _simple_bind(conn, dn, password):
        if conn.closed:
            # ldap3 would reopen it silently, without StartTLS: never send
            # a password that way.
            raise _ServerError(_("connection closed"))
        # This thread's request (built once by ldap3) gets DN and password.
        request = getattr(_BIND_REQUESTS, "request", None)
        if request is None:
            request = _BIND_REQUESTS.request = ldap3_bind.bind_operation(
                conn.version, ldap3.SIMPLE, _PLACEHOLDER, _PLACEHOLDER)
        request["name"] = dn
        credentials = request["authentication"]
        try:
            credentials["simple"] = _prepared_password(password)
            conn.post_send_single_response(conn.send("bindRequest", request))
        finally:
            # Keep no password in the request nor on the connection (ldap3
            # keeps a copy of the last request, password included).
            credentials["simple"] = _PLACEHOLDER
            conn.request = None
        return (conn.result or {}).get("result") == _SUCCESS

    def _search(self, conn, search_base, search_filter, scope, attributes,
                size_limit=0):
        conn.search(search_base, search_filter, search_scope=scope,
                    attributes=attributes or ["1.1"], size_limit=size_limit,
                    time_limit=self._time_limit)
        return self._search_result(conn, search_base)

    def _search_result(self, conn, search_base):
        """The entries of the search just made on conn, or why not."""
        result = conn.result or {}
        code = result.get("result")
        if code in (_SUCCESS, _SIZE_LIMIT_EXCEEDED):
            return _entries(conn)
        if code in (_NO_SUCH_OBJECT, _REFERRAL):
            if code == _NO_SUCH_OBJECT and search_base in (
                    self._user_base, self._group_base):
                LOG.warning("LDAP search base %s does not exist.",
                            search_base)
            return []
        if code in _SERVER_UNAVAILABLE:
            raise _ServerError(_("search failed: %s") %
                               result.get("description"))
        LOG.warning("LDAP search in %(base)s failed: %(code)s %(desc)s "
                    "%(msg)s", {"base": search_base, "code": code,
                                "desc": result.get("description"),
                                "msg": result.get("message")})
        raise exception.IdentityUnavailable(
            reason=_("directory search failed: %s") %
            result.get("description"))

    def _prebuilt(self, conn, kind, base, search_filter, scope, attributes,
                  size_limit=0):
        """This thread's search request of this kind, built once by ldap3.

        Built from what conn.search() would pass ldap3; the caller sets the
        values that change. One per thread: a pooled connection serves one
        thread at a time, and a request is changed, then sent, by it.
        """
        request = getattr(self._requests, kind, None)
        if request is None:
            if conn.check_names:
                base = ldap3_dn.safe_dn(base)
            request = ldap3_search.search_operation(
                base, search_filter, scope, ldap3.DEREF_ALWAYS, attributes,
                size_limit, self._time_limit, False, conn.auto_escape,
                conn.auto_encode, None,
                validator=conn.server.custom_validator,
                check_names=conn.check_names)
            setattr(self._requests, kind, request)
        return request

    def _send_search(self, conn, request, search_base):
        conn.post_send_search(conn.send("searchRequest", request))
        return self._search_result(conn, search_base)

    def _find_user(self, conn, username):
        request = self._prebuilt(
            conn, "user", self._user_base, "(&%s(%s=%s))" % (
                self._user_filter, self.opts.user_name_attribute,
                _PLACEHOLDER), self._user_scope, self._user_attributes, 2)
        # The top "&"'s last term is the name: what ldap3 sends for
        # (uid=<escaped name>) is the value stripped, escapes undone, in
        # UTF-8 (test_ldap_requests compares the bytes).
        match = request["filter"]["and"][-1]["equalityMatch"]
        match["assertionValue"] = username.strip().encode("utf-8")
        entries = self._send_search(conn, request, self._user_base)
        if len(entries) > 1:
            LOG.warning("LDAP: %(n)s entries match login name %(name)s "
                        "under %(base)s; refusing an ambiguous login.",
                        {"n": len(entries), "name": username,
                         "base": self._user_base})
            return _AMBIGUOUS
        return entries[0] if entries else None

    def _in_group_base(self, dn):
        return dn_mod.in_subtree(dn, self._group_base)

    def _group_name(self, dn, attrs):
        values = attrs.get(self.opts.group_name_attribute.lower())
        if values:
            return values[0]
        return dn_mod.leaf_value(dn, self.opts.group_name_attribute) or dn

    def _memberof_info(self, conn, dn):
        """(name, parent DNs) of the group dn, or None if it is no group."""
        key = dn_mod.normalize(dn)
        cached = self.group_cache.get(key)
        if cached is not ttl_cache.MISSING:
            return cached
        request = self._prebuilt(
            conn, "group", "cn=" + _PLACEHOLDER,
            self._group_filter or "(objectClass=*)", ldap3.BASE,
            [self.opts.group_name_attribute,
             self.opts.user_memberof_attribute])
        request["baseObject"] = (ldap3_dn.safe_dn(dn) if conn.check_names
                                 else dn)
        entries = self._send_search(conn, request, dn)
        info = None
        if entries:
            gdn, attrs = entries[0]
            info = (self._group_name(gdn, attrs), tuple(
                attrs.get(self.opts.user_memberof_attribute.lower(), ())))
        self.group_cache.put(key, info)
        return info

    def _groups_memberof(self, conn, user_attrs):
        direct = user_attrs.get(self.opts.user_memberof_attribute.lower(),
                                ())
        found = collections.OrderedDict()
        frontier = [dn for dn in direct if self._in_group_base(dn)]
        level = 0
        while frontier:
            following = []
            for dn in frontier:
                key = dn_mod.normalize(dn)
                if key in found:
                    continue
                info = self._memberof_info(conn, dn)
                if info is None:
                    continue
                found[key] = (dn, info[0])
                if level < self.opts.group_nesting_depth:
                    following.extend(p for p in info[1]
                                     if self._in_group_base(p) and
                                     dn_mod.normalize(p) not in found)
            frontier = following
            level += 1
        return list(found.values())

    def _member_search(self, conn, member_dn, in_chain=False):
        rule = ":%s:" % MATCHING_RULE_IN_CHAIN if in_chain else ""
        request = self._prebuilt(
            conn, "member" + rule, self._group_base, "(&%s(%s%s=%s))" % (
                self._group_filter, self.opts.group_member_attribute, rule,
                _PLACEHOLDER), self._group_scope,
            [self.opts.group_name_attribute])
        # The DN as ldap3 sends it, as for the login name in _find_user.
        value = member_dn.strip().encode("utf-8")
        term = request["filter"]["and"][-1]
        if in_chain:
            term["extensibleMatch"]["matchValue"] = value
        else:
            term["equalityMatch"]["assertionValue"] = value
        entries = self._send_search(conn, request, self._group_base)
        return [(dn, self._group_name(dn, attrs)) for dn, attrs in entries]

    def _groups_member(self, conn, user_dn):
        found = collections.OrderedDict()
        frontier = self._member_search(conn, user_dn)
        level = 0
        while frontier:
            following = []
            for dn, name in frontier:
                key = dn_mod.normalize(dn)
                if key in found:
                    continue
                found[key] = (dn, name)
                if level >= self.opts.group_nesting_depth:
                    continue
                parents = self.group_cache.get(key)
                if parents is ttl_cache.MISSING:
                    parents = tuple(self._member_search(conn, dn))
                    self.group_cache.put(key, parents)
                following.extend(p for p in parents
                                 if dn_mod.normalize(p[0]) not in found)
            frontier = following
            level += 1
        return list(found.values())

    def _groups(self, conn, user_dn, user_attrs):
        mode = self.opts.group_mode
        if mode == "memberof":
            return self._groups_memberof(conn, user_attrs)
        if mode == "member":
            return self._groups_member(conn, user_dn)
        if mode == "ad_in_chain":
            return self._member_search(conn, user_dn, in_chain=True)
        return []

    def _principal(self, username, dn, attrs, groups):
        opts = self.opts
        names = attrs.get(opts.user_name_attribute.lower()) or [username]
        display = attrs.get(opts.user_display_name_attribute.lower()) or [""]
        mapped = {}
        for tag, attribute in opts.user_attribute_map.items():
            values = attrs.get(attribute.lower())
            if values:
                mapped[tag] = tuple(values)
        return base.Principal(
            username=names[0], dn=dn, display_name=display[0],
            groups=tuple(name for _dn, name in groups),
            group_dns=tuple(gdn for gdn, _name in groups),
            attributes=mapped)

    # -- the driver interface ------------------------------------------------

    @staticmethod
    def _valid_username(username):
        return (isinstance(username, str) and username and
                len(username) <= MAX_USERNAME_LENGTH and
                username.strip() and
                not any(ord(ch) < 32 or ord(ch) == 127 for ch in username))

    def authenticate(self, username, password):
        # Every failure is the same LoginFailed for the client; its reason
        # is for the failed-login event.
        if not self._valid_username(username):
            raise exception.LoginFailed(reason="invalid_username")
        if (not isinstance(password, str) or not password or
                len(password) > MAX_PASSWORD_LENGTH):
            # An empty password would be an "unauthenticated bind", which
            # many directories accept as a success.
            raise exception.LoginFailed(reason="invalid_password")
        try:
            # Before the directory is asked, for known and unknown users
            # alike: SASLprep's cost grows with the password (milliseconds
            # for 4,000 characters) and must not tell them apart; a
            # password it refuses is a failed login, not an outage.
            password = _prepared_password(password)
        except ldap_exc.LDAPSASLPrepError:
            raise exception.LoginFailed(reason="invalid_password")

        found = self._run(self._service_pool,
                          lambda conn: self._find_user(conn, username),
                          "find_user")
        if found is None or found is _AMBIGUOUS:
            # Spend a bind as for a real user, so that response times do
            # not tell unknown users from wrong passwords.
            dummy = "cn=vdi-broker-no-such-user-%s,%s" % (
                secrets.token_hex(4), self._user_base)
            self._run(self._auth_pool,
                      lambda conn: self._check_bind(conn, dummy,
                                                    secrets.token_hex(8)),
                      "bind")
            LOG.info("LDAP login for %s failed.", username)
            raise exception.LoginFailed(
                reason="unknown_user" if found is None
                else "ambiguous_user")
        dn, attrs = found
        refused = self._run(self._auth_pool,
                            lambda conn: self._check_bind(conn, dn, password),
                            "bind")
        if refused:
            LOG.info("LDAP login for %s failed.", username)
            raise exception.LoginFailed(reason=refused)
        groups = self._run(self._service_pool,
                           lambda conn: self._groups(conn, dn, attrs),
                           "groups")
        principal = self._principal(username, dn, attrs, groups)
        LOG.debug("LDAP login of %(user)s (%(dn)s): %(n)d groups.",
                  {"user": principal.username, "dn": dn,
                   "n": len(principal.groups)})
        return principal

    def _check_bind(self, conn, dn, password):
        """None if the bind succeeds, else why it was refused."""
        if self._simple_bind(conn, dn, password):
            return None
        code = conn.result.get("result")
        if code in _SERVER_UNAVAILABLE:
            raise _ServerError(_("bind: %s") % conn.result.get("description"))
        if code not in _BIND_REFUSED:
            LOG.warning("LDAP bind of %(dn)s returned %(code)s %(desc)s.",
                        {"dn": dn, "code": code,
                         "desc": conn.result.get("description")})
        else:
            # Active Directory explains why in the message (data 52e: bad
            # password, 775: locked, 533: disabled, 532: expired).
            LOG.debug("LDAP bind of %(dn)s refused: %(desc)s %(msg)s",
                      {"dn": dn, "desc": conn.result.get("description"),
                       "msg": conn.result.get("message")})
        return _refusal_reason(conn.result)

    def lookup(self, username):
        if not self._valid_username(username):
            raise exception.NotFound(
                _("User %s was not found in the directory.") % username)

        def op(conn):
            found = self._find_user(conn, username)
            if found is None or found is _AMBIGUOUS:
                return None
            dn, attrs = found
            return dn, attrs, self._groups(conn, dn, attrs)

        result = self._run(self._service_pool, op, "lookup")
        if result is None:
            raise exception.NotFound(
                _("User %s was not found in the directory.") % username)
        return self._principal(username, *result)

    def check_health(self):
        def op(conn):
            self._search(conn, self._user_base, "(objectClass=*)",
                         ldap3.BASE, ["1.1"])
        self._run(self._service_pool, op, "health")

    def close(self):
        self._service_pool.close()
        self._auth_pool.close()
        self.group_cache.clear()
