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

"""vdi-broker-tc: the thin client's program.

    vdi-broker-tc [--config-file /etc/vdi-broker-tc/vdi-broker-tc.conf]

Opens the full-screen login window on ``$DISPLAY`` and runs until it is
stopped (SIGTERM or SIGINT: the session is logged out first). Logs to
standard error, for the journal of the systemd user unit.

It is a program of its own, not a broker service: it reads no
oslo.config file and selects no oslo.service backend, so it lives here
rather than in ``vdi_broker.cmd``.
"""

import argparse
import logging
import os
import signal
import sys

from vdi_broker.thinclient import activity
from vdi_broker.thinclient import api as api_mod
from vdi_broker.thinclient import config as config_mod
from vdi_broker.thinclient import controller
from vdi_broker.thinclient import i18n

LOG = logging.getLogger("vdi_broker.thinclient")
CONFIG_ENV = "VDI_BROKER_TC_CONFIG"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="vdi-broker-tc",
        description="The thin client's login window for the VDI broker.")
    p.add_argument("--config-file",
                   default=os.environ.get(CONFIG_ENV,
                                          config_mod.DEFAULT_FILE),
                   help="The configuration file (default: $%s or %s)."
                        % (CONFIG_ENV, config_mod.DEFAULT_FILE))
    p.add_argument("--debug", action="store_true",
                   help="Log at DEBUG level.")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.DEBUG if args.debug
        else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # urllib3 would log every request at DEBUG, headers and all.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        config = config_mod.load(args.config_file)
    except config_mod.ConfigError as e:
        LOG.error("Configuration: %s", e)
        return 2
    translations = i18n.translation(config.language,
                                    config.locale_dir or None)

    # Tk only now: the rest of the package is usable (and tested) without.
    import tkinter
    from vdi_broker.thinclient import window as window_mod
    try:
        root = tkinter.Tk(className=window_mod.TITLE)
    except tkinter.TclError as e:
        LOG.error("Cannot open the display: %s", e)
        return 1
    window = window_mod.LoginWindow(root, config, translations)
    client = controller.ThinClient(config, api_mod.ThinClientAPI(config),
                                   window,
                                   activity.InputCounter(
                                       os.environ.get("DISPLAY")))
    window.on_login = client.login

    def stop(signum, frame):
        LOG.info("Signal %d: logging out and stopping", signum)
        window.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    LOG.info("Thin client %s (seat %s) for %s", config.client_id,
             config.seat or "none", config.broker_url)
    client.start()
    try:
        window.run()
    finally:
        client.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
