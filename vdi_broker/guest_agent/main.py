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

"""vdi-broker-agent: register the desktop, then report every N seconds.

A 401 (a new secret after a rebuild the agent missed) reads the metadata
again; a 409 (the broker does not know this boot's registration)
registers again; a 429 waits for Retry-After; a broker that does not
answer is retried with a growing pause (at most ``--max-backoff``).
"""

import argparse
import json
import logging
import platform
import socket
import sys
import time
import urllib.error
import urllib.request

from vdi_broker.guest_agent import host as host_probe
from vdi_broker.guest_agent import metadata
from vdi_broker.guest_agent import protocol

LOG = logging.getLogger("vdi-broker-agent")
VERSION = "1"


class BrokerError(Exception):
    def __init__(self, status, message, retry_after=None):
        super().__init__("%s: %s" % (status, message))
        self.status = status
        self.retry_after = retry_after


def post(url, secret, body, timeout):
    """POST JSON; the answer's JSON, or BrokerError (status 0: no answer)."""
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json",
                 protocol.SECRET_HEADER: secret})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(65536)
            return json.loads(raw.decode("utf-8")) if raw else {}
    except urllib.error.HTTPError as e:
        retry_after = e.headers.get("Retry-After") if e.headers else None
        try:
            message = json.loads(e.read(65536).decode("utf-8"))[
                "error"]["message"]
        except (ValueError, KeyError, TypeError, OSError):
            message = e.reason
        raise BrokerError(e.code, message,
                          float(retry_after) if retry_after else None)
    except (OSError, ValueError) as e:
        raise BrokerError(0, str(e))


class Agent:
    """The agent's loop; ``settings``: what metadata.load returned."""

    def __init__(self, settings, host, interval=None, timeout=10.0,
                 max_backoff=300.0, load_settings=None, sleep=time.sleep,
                 clock=time.monotonic):
        self.settings = settings
        self.host = host
        self.interval = interval
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.load_settings = load_settings
        self.sleep = sleep
        self.clock = clock
        self.registered = False

    def _url(self, path):
        return self.settings["broker_url"] + path

    def register(self):
        answer = post(self._url(protocol.REGISTER_PATH),
                      self.settings["secret"],
                      {"desktop_id": self.settings["desktop_id"],
                       "version": VERSION,
                       "os": platform.system()[:64] or None,
                       "hostname": socket.gethostname()[:255]},
                      self.timeout)
        self.registered = True
        if self.interval is None:
            self.interval = answer.get("report_interval") or 30
        LOG.info("Registered desktop %s with %s; reporting every %s s",
                 self.settings["desktop_id"], self.settings["broker_url"],
                 self.interval)
        return answer

    def report(self):
        body = {"desktop_id": self.settings["desktop_id"]}
        body.update(self.host.probe())
        # No secret in it: the desktop's state (the user's name, as the
        # broker's session list shows it too).
        LOG.debug("Report: %s", ", ".join(
            "%s=%s" % (k, body[k]) for k in sorted(body)
            if k != "desktop_id"))
        return post(self._url(protocol.REPORT_PATH),
                    self.settings["secret"], body, self.timeout)

    def step(self):
        """Register or report once; the seconds to wait before the next."""
        try:
            if not self.registered:
                self.register()
            else:
                self.report()
            return self.interval or 30
        except BrokerError as e:
            if e.status == 429:
                return max(1.0, e.retry_after or 1.0)
            if e.status == 409:
                self.registered = False
                return 1.0
            if e.status == 401:
                self.registered = False
                if self.load_settings is not None:
                    try:
                        self.settings = self.load_settings()
                    except metadata.MetadataError as me:
                        LOG.warning("%s", me)
            LOG.warning("Broker request failed: %s", e)
            raise

    def run(self, stop=lambda: False):
        backoff = 1.0
        while not stop():
            try:
                wait = self.step()
                backoff = 1.0
            except BrokerError:
                wait = backoff
                backoff = min(self.max_backoff, backoff * 2)
            self.sleep(wait)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="vdi-broker-agent",
        description="The vdi-broker guest agent: registers this desktop "
                    "with the broker and reports its state.")
    parser.add_argument("--override-file",
                        help="JSON file with vdi_broker_url, "
                             "vdi_agent_secret and vdi_desktop (read "
                             "before the config drive and the metadata "
                             "service).")
    parser.add_argument("--config-drive", action="append",
                        help="A config drive's mount point (repeatable; "
                             "default: %s)." % ", ".join(
                                 metadata.DEFAULT_CONFIG_DRIVES))
    parser.add_argument("--metadata-url", default=metadata.METADATA_URL,
                        help="Nova's metadata document (empty: do not "
                             "ask the metadata service).")
    parser.add_argument("--interval", type=float,
                        help="Seconds between reports (default: what the "
                             "broker says at registration).")
    parser.add_argument("--display-port", type=int, default=3389,
                        help="TCP port of the remote display service "
                             "(xrdp: 3389).")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="Seconds one request to the broker may take.")
    parser.add_argument("--once", action="store_true",
                        help="Register, report once and exit (0: done).")
    parser.add_argument("--debug", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def load():
        return metadata.load(
            override_file=args.override_file,
            config_drives=(args.config_drive if args.config_drive
                           else metadata.DEFAULT_CONFIG_DRIVES),
            metadata_url=args.metadata_url or None, timeout=args.timeout)

    try:
        settings = load()
    except metadata.MetadataError as e:
        LOG.error("%s", e)
        return 2
    agent = Agent(settings, host_probe.Host(display_port=args.display_port),
                  interval=args.interval, timeout=args.timeout,
                  load_settings=load)
    if args.once:
        try:
            answer = agent.register()
            # The first report may come min_report_interval after the
            # registration.
            time.sleep(float(answer.get("min_report_interval") or 0))
            agent.report()
        except BrokerError as e:
            LOG.error("%s", e)
            return 1
        return 0
    try:
        agent.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
