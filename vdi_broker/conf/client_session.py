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

from oslo_config import cfg

client_session_group = cfg.OptGroup(
    "client_session", title="Thin-client session options",
    help="Sessions handed to thin clients at login.")

client_session_opts = [
    cfg.IntOpt("token_ttl", default=43200, min=60,
               help="Seconds a session token stays valid (a shift plus "
                    "overtime, 12 hours by default)."),
    cfg.IntOpt("max_username_length", default=256, min=1,
               help="Longest username accepted at login."),
    cfg.BoolOpt("register_unknown_clients", default=False,
                help="Create the record of a thin client whose client_id "
                     "is not registered when it sends its first heartbeat "
                     "(POST /v1/client/heartbeat), and of a seat that a "
                     "login names (POST /v1/client/sessions) but no "
                     "record has; both are recorded as events "
                     "(thin_client.register, seat.register). By default "
                     "such a heartbeat and such a login get a 404, and "
                     "thin clients and seats are registered by an "
                     "administrator (POST /v1/thin-clients, "
                     "POST /v1/seats)."),
    cfg.IntOpt("heartbeat_interval", default=60, min=1, max=3600,
               help="Seconds between two heartbeats of a thin client "
                    "(POST /v1/client/heartbeat), as the broker asks for "
                    "it: the heartbeat's answer at API version 1.1 and "
                    "later says heartbeat_interval, and the reference "
                    "thin client (vdi-broker-tc) follows it within its "
                    "own bounds. Older clients keep their own interval."),
    cfg.IntOpt("client_offline_after", default=300, min=0,
               help="Seconds without a heartbeat after which the "
                    "conductor sets an online thin client offline (and "
                    "records a thin_client.offline event): 300 s is five "
                    "missed heartbeats at the default heartbeat_interval. "
                    "A value below two heartbeat intervals is raised to "
                    "two intervals (with a warning), so that one late "
                    "heartbeat never sets a client offline; 0 turns this "
                    "off."),
    cfg.IntOpt("faulty_after_failures", default=3, min=1,
               help="A thin client whose heartbeat reports this many "
                    "failed connections to its desktops in a row "
                    "(health.connection_failures) is set faulty, with its "
                    "last connection error as the reason; a heartbeat "
                    "reporting fewer sets it online again."),
]


# A client is set offline after this many heartbeat intervals at least.
MIN_MISSED_HEARTBEATS = 2


def offline_after(conf):
    """Seconds of silence after which a thin client is offline (0: never).

    ``client_offline_after``, but never less than
    :data:`MIN_MISSED_HEARTBEATS` of the ``heartbeat_interval`` the broker
    hands out: offline detection stays consistent with the interval.
    """
    opts = conf.client_session
    if not opts.client_offline_after:
        return 0
    return max(opts.client_offline_after,
               MIN_MISSED_HEARTBEATS * opts.heartbeat_interval)


def register_opts(conf):
    conf.register_group(client_session_group)
    conf.register_opts(client_session_opts, group=client_session_group)


def list_opts():
    return {client_session_group: client_session_opts}
