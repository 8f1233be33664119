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

"""The Salt guest executor: salt-api's rest_cherrypy over HTTP(S).

One call = one asynchronous Salt job (``local_async``) on the list of
the targets' minion ids, then reads of ``/jobs/<jid>`` every
``[salt] poll_interval`` until every minion answered or the call's
timeout passed. Minions that salt-api did not target (no accepted key)
and minions that did not answer in time fail with that reason.

The login token is kept until it expires and renewed on a 401 (the
master restarted, or the token was revoked). Every HTTP request is
bounded by ``[salt] timeout``. Neither the Salt password nor a job's
secret argument is ever logged; note that the master's job cache keeps
a job's arguments (see the maintenance guide).
"""

import json
import shlex
import threading
import time

from oslo_log import log as logging
import requests

from vdi_broker.executors import base

LOG = logging.getLogger(__name__)

_JSON = {"Accept": "application/json"}


class _NoMinionId(Exception):
    pass


class SaltExecutor(base.Executor):
    name = "salt"

    def __init__(self, conf):
        super().__init__(conf)
        self.options = conf.salt
        self._http = requests.Session()
        self._http.verify = self.options.ca_file or self.options.verify
        self._token = None
        self._expires = 0.0
        self._lock = threading.Lock()

    # -- HTTP ------------------------------------------------------------

    @property
    def _url(self):
        if not self.options.url:
            raise base.ExecutorUnavailable(reason="[salt] url is not set")
        return self.options.url.rstrip("/")

    def _send(self, method, path, **kwargs):
        try:
            return self._http.request(method, self._url + path,
                                      timeout=self.options.timeout,
                                      **kwargs)
        except requests.RequestException as e:
            # The class only: some messages repeat request details.
            raise base.ExecutorUnavailable(
                reason="salt-api at %s did not answer %s %s (%s)" % (
                    self._url, method, path, type(e).__name__))

    def _login(self):
        response = self._send("POST", "/login", headers=_JSON, json={
            "username": self.options.username,
            "password": self.options.password,
            "eauth": self.options.eauth})
        if response.status_code in (401, 403):
            raise base.ExecutorUnavailable(
                reason="salt-api refused the login of %s (eauth %s)" % (
                    self.options.username, self.options.eauth))
        if response.status_code != 200:
            raise base.ExecutorUnavailable(
                reason="salt-api answered %d to the login" %
                response.status_code)
        data = _json(response)["return"][0]
        self._token = data["token"]
        # Renewed a minute early: no request races the expiry.
        self._expires = float(data.get("expire") or 0) - 60
        LOG.debug("Logged in to salt-api as %s", self.options.username)

    def _current_token(self, stale=None):
        with self._lock:
            if self._token is None or self._token == stale or \
                    time.time() >= self._expires:
                self._login()
            return self._token

    def _request(self, method, path, body=None):
        token = None
        for attempt in range(2):
            token = self._current_token(stale=token)
            kwargs = {"headers": dict(_JSON, **{"X-Auth-Token": token})}
            if body is not None:
                kwargs["json"] = body
            response = self._send(method, path, **kwargs)
            if response.status_code == 401 and attempt == 0:
                LOG.info("salt-api refused the token; logging in again")
                continue
            if response.status_code != 200:
                raise base.ExecutorUnavailable(
                    reason="salt-api answered %d to %s %s" % (
                        response.status_code, method, path))
            return _json(response)

    # -- jobs ------------------------------------------------------------

    def minion_id(self, target):
        try:
            minion = self.options.minion_id_template.format_map(target)
        except (KeyError, IndexError, ValueError, AttributeError) as e:
            raise _NoMinionId("the minion id template %r does not apply "
                              "to this desktop (%s: %s)" % (
                                  self.options.minion_id_template,
                                  type(e).__name__, e))
        if not minion:
            raise _NoMinionId("the minion id template gives an empty id")
        return minion

    def _call(self, targets, fun, arg, kwarg, timeout, interpret):
        results, minions = {}, {}
        for target in targets:
            try:
                minions.setdefault(self.minion_id(target), []).append(
                    target["id"])
            except _NoMinionId as e:
                results[target["id"]] = base.failed(str(e))
        if not minions:
            return results
        low = {"client": "local_async", "tgt": sorted(minions),
               "tgt_type": "list", "fun": fun, "arg": list(arg),
               "timeout": int(timeout)}
        if kwarg:
            low["kwarg"] = kwarg
        started = _first(self._request("POST", "/", [low]))
        jid = started.get("jid") if isinstance(started, dict) else None
        expected = set(started.get("minions") or ()) if jid else set()
        for minion in set(minions) - expected:
            for desktop_id in minions[minion]:
                results[desktop_id] = base.failed(
                    "minion %s is not known to the Salt master (no "
                    "accepted key)" % minion)
        if not expected:
            return results
        LOG.info("Salt job %s (%s) started on %d minions", jid, fun,
                 len(expected))
        answers, lost = self._wait(jid, expected, timeout)
        for minion in expected:
            if minion in answers:
                result = interpret(answers[minion])
            elif lost:
                result = base.failed("salt-api stopped answering while "
                                     "job %s ran: %s" % (jid, lost))
            else:
                result = base.failed("no answer from minion %s within "
                                     "%d s (job %s)" % (minion, timeout,
                                                        jid))
            for desktop_id in minions[minion]:
                results[desktop_id] = result
        return results

    def _wait(self, jid, expected, timeout):
        """Read the job until every minion answered or time is up."""
        deadline = time.monotonic() + timeout
        answers = {}
        while True:
            try:
                info = _first(self._request("GET", "/jobs/%s" % jid),
                              key="info")
            except base.ExecutorUnavailable as e:
                return answers, str(e)
            for minion, answer in ((info or {}).get("Result") or {}).items():
                if minion in expected:
                    answers[minion] = answer
            left = deadline - time.monotonic()
            if expected <= set(answers) or left <= 0:
                return answers, None
            time.sleep(min(self.options.poll_interval, left))

    # -- operations --------------------------------------------------------

    def run_command(self, targets, command, timeout):
        return self._call(targets, "cmd.run_all", [command],
                          {"python_shell": True}, timeout, _command_result)

    def apply_state(self, targets, state, pillar, timeout):
        return self._call(targets, "state.apply", [state],
                          {"pillar": pillar} if pillar else None, timeout,
                          _state_result)

    def push_file(self, targets, path, contents, mode, timeout):
        kwarg = {"contents": contents, "makedirs": True}
        if mode:
            kwarg["mode"] = mode
        return self._call(targets, "state.single", ["file.managed", path],
                          kwarg, timeout, _state_result)

    def send_message(self, targets, message, seconds, timeout):
        command = shlex.split(self.options.message_command.format(
            seconds=int(seconds))) + [message]
        return self._call(targets, "cmd.run_all", [command],
                          {"python_shell": False}, timeout, _command_result)

    def install_software(self, targets, package, version, timeout):
        kwarg = {"name": package}
        if version:
            kwarg["version"] = version
        return self._call(targets, "pkg.install", [], kwarg, timeout,
                          _generic_result)

    def set_password(self, targets, username, password, timeout):
        return self._call(targets, self.options.password_function,
                          [username, password], None, timeout,
                          _generic_result)

    def recover_data(self, targets, paths, destination, timeout):
        pillar = {"vdi_recovery": {"paths": list(paths),
                                   "destination": destination}}
        return self._call(targets, "state.apply",
                          [self.options.recovery_state], {"pillar": pillar},
                          timeout, _state_result)


def _json(response):
    try:
        return response.json()
    except ValueError:
        raise base.ExecutorUnavailable(
            reason="salt-api answered %d with no JSON" %
            response.status_code)


def _first(data, key="return"):
    try:
        return data[key][0]
    except (KeyError, IndexError, TypeError):
        raise base.ExecutorUnavailable(
            reason="salt-api's answer has no %r list" % key)


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "\n".join(_text(v) for v in value)
    return json.dumps(value, sort_keys=True, default=str)


def _command_result(answer):
    ret = answer.get("return")
    if not isinstance(ret, dict) or "retcode" not in ret:
        # An error from Salt itself (unknown function, bad arguments).
        return base.failed("Salt: %s" % _text(ret)[:200], _text(ret))
    output = "\n".join(p for p in (ret.get("stdout"), ret.get("stderr"))
                       if p)
    if ret["retcode"] == 0:
        return base.ok(output)
    return base.failed("exit status %s" % ret["retcode"], output)


def _state_result(answer):
    ret = answer.get("return")
    if not isinstance(ret, dict):
        # Render or compile errors come as a list of strings.
        return base.failed("the state did not run: %s" % _text(ret)[:200],
                           _text(ret))
    lines, failures = [], 0
    for chunk in sorted(ret.values(), key=lambda c: c.get("__run_num__",
                                                          0)):
        if not isinstance(chunk, dict):
            continue
        good = chunk.get("result") is not False
        failures += 0 if good else 1
        lines.append("%s %s: %s" % ("ok" if good else "FAILED",
                                    chunk.get("__id__", chunk.get("name")),
                                    _text(chunk.get("comment", ""))))
    if failures or answer.get("retcode") not in (0, None):
        return base.failed("%d of %d states failed" % (failures, len(lines))
                           if failures else "retcode %s" %
                           answer.get("retcode"), "\n".join(lines))
    return base.ok("\n".join(lines))


def _generic_result(answer):
    ret = answer.get("return")
    retcode = answer.get("retcode", 0)
    if ret is False or retcode not in (0, None) or \
            answer.get("success") is False:
        return base.failed("Salt reported a failure (retcode %s)" % retcode,
                           _text(ret))
    return base.ok(_text(ret))
