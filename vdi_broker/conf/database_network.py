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

"""Options of ``[database_network]``: how database connections survive.

oslo.db's ``[database]`` group says where the database is and how big the
pool is; these options say how the broker's pooled connections notice a
network that silently stopped delivering (a firewall that dropped an idle
connection, a failed-over load balancer): TCP keepalive, and timeouts so
that no request waits for an answer that will never come (R12).
"""

from oslo_config import cfg

database_network_group = cfg.OptGroup(
    "database_network", title="Database connection keepalive and timeouts",
    help="TCP keepalive and timeouts on the broker's connections to "
         "MariaDB/MySQL (PyMySQL and mysqlclient) and PostgreSQL "
         "(psycopg2); SQLite ignores them. A parameter given in ``[database] "
         "connection`` or ``connection_parameters`` (``read_timeout``, "
         "``keepalives_idle``, ...) takes precedence. See the 'Long-lived "
         "connections' admin guide.")

database_network_opts = [
    cfg.IntOpt("keepalive_idle", default=60, min=0,
               help="TCP keepalive: seconds of idleness before the first "
                    "probe, so that firewalls and NAT gateways keep idle "
                    "pooled connections and dead peers are found. Keep it "
                    "well below the idle timeout of any firewall between "
                    "the broker and the database. 0: leave the driver's "
                    "and the kernel's defaults (two hours on Linux)."),
    cfg.IntOpt("keepalive_interval", default=15, min=1,
               help="TCP keepalive: seconds between unanswered probes."),
    cfg.IntOpt("keepalive_count", default=4, min=1,
               help="TCP keepalive: unanswered probes before the kernel "
                    "closes the connection."),
    cfg.IntOpt("connect_timeout", default=5, min=1,
               help="Seconds to open a connection (TCP and the database's "
                    "handshake) before the attempt fails: a request then "
                    "answers 503 rather than wait. libpq counts at least "
                    "2 s."),
    cfg.IntOpt("read_timeout", default=10, min=0,
               help="Seconds the broker waits for the answer to one "
                    "statement (and to send it) before it gives the "
                    "connection up as lost; the request answers 503 and "
                    "the pool opens a new connection. It bounds every "
                    "request while the network to the database is "
                    "black-holed. Keep it above the slowest statement "
                    "the broker runs (milliseconds for logins) and above "
                    "lock waits you accept. Also set as the connection's "
                    "TCP_USER_TIMEOUT and, one second longer, as the "
                    "server's statement time limit on PostgreSQL and "
                    "MariaDB (statement_timeout, max_statement_time), so "
                    "that the server stops what the broker gave up. "
                    "``vdi-broker-manage db sync`` does not use it "
                    "(migrations may take longer). 0: wait for ever."),
    cfg.IntOpt("idle_transaction_timeout", default=20, min=0,
               help="Seconds the database server keeps a transaction open "
                    "while the broker sends nothing (PostgreSQL "
                    "idle_in_transaction_session_timeout, MariaDB "
                    "idle_transaction_timeout; MySQL has no such limit). "
                    "When a connection is lost in the middle of a "
                    "transaction without the server noticing, the server "
                    "rolls it back after this time and releases its row "
                    "locks (PostgreSQL: the login's user lock too). The "
                    "broker's transactions take milliseconds and never "
                    "wait for anything but the database. Not used by "
                    "``vdi-broker-manage db sync``. 0: no limit."),
]


def register_opts(conf):
    conf.register_group(database_network_group)
    conf.register_opts(database_network_opts, group=database_network_group)


def list_opts():
    return {database_network_group: database_network_opts}
