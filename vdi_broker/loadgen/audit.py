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

"""After a storm: check the promises in the database itself.

* no desktop is used by two users: active sessions of one desktop all
  belong to one user, and that user is the one the desktop is assigned to;
* every bound user is on their own desktop: a user binding points at a
  desktop that exists, and the user's active sessions are on it;
* no binding was lost: every user the simulator saw bound still has one;
* no orphan: (when a list of the cloud's servers is given) every server
  the broker made has a desktop, and every live desktop has its server.

The queries are plain SQL over the broker's tables, run read-only on a
connection of its own, so the audit also works on a copy of the
database, with the broker stopped or still running.
"""

import collections

import sqlalchemy as sa

# Desktop states whose server must exist in the cloud.
_LIVE = ("ready", "assigned")


class Audit:
    def __init__(self):
        self.double_allocations = []
        self.foreign_sessions = []
        self.lost_bindings = []
        self.misplaced_bound_users = []
        self.orphan_servers = []
        self.vanished_servers = []
        self.handed_twice = []
        self.counts = {}

    @property
    def problems(self):
        return (len(self.double_allocations) + len(self.foreign_sessions) +
                len(self.lost_bindings) + len(self.misplaced_bound_users) +
                len(self.orphan_servers) + len(self.vanished_servers) +
                len(self.handed_twice))

    @property
    def ok(self):
        return self.problems == 0

    def format(self):
        lines = ["audit: %s" % ", ".join(
            "%s %d" % item for item in sorted(self.counts.items()))]
        for name in ("double_allocations", "foreign_sessions",
                     "handed_twice", "lost_bindings",
                     "misplaced_bound_users", "orphan_servers",
                     "vanished_servers"):
            found = getattr(self, name)
            lines.append("  %-22s %d%s" % (
                name.replace("_", " "), len(found),
                ("  e.g. %s" % (found[:3],)) if found else ""))
        lines.append("audit %s" % ("OK" if self.ok else "FAILED"))
        return "\n".join(lines)


def _rows(conn, sql, **params):
    return conn.execute(sa.text(sql), params).all()


def run(db_url=None, engine=None, logins=None, cloud_servers=None):
    """Audit the broker's database.

    ``logins``: username -> the login answer the simulator received
    (``Report.logins``), to find bindings lost since and desktops handed
    to two users during a run without logouts. ``cloud_servers``: the
    cloud's servers made by the broker, as (server id, desktop id or
    None) pairs, for the orphan checks; None skips them.
    """
    own = engine is None
    if own:
        engine = sa.create_engine(db_url)
    audit = Audit()
    try:
        with engine.connect() as conn:
            _check(conn, audit, logins, cloud_servers)
    finally:
        if own:
            engine.dispose()
    return audit


def _check(conn, audit, logins, cloud_servers):
    for table in ("desktops", "sessions", "bindings"):
        # The table names are the constants above, never input.
        audit.counts[table] = conn.execute(
            sa.text("SELECT COUNT(*) FROM %s" % table)).scalar()  # nosec B608
    audit.counts["active sessions"] = conn.execute(sa.text(
        "SELECT COUNT(*) FROM sessions WHERE state = 'active'")).scalar()

    # Two users on one desktop at the same time.
    users = collections.defaultdict(set)
    for desktop_id, username in _rows(
            conn, "SELECT desktop_id, username FROM sessions "
                  "WHERE state = 'active'"):
        users[desktop_id].add(username)
    audit.double_allocations = sorted(
        (d, sorted(u)) for d, u in users.items() if len(u) > 1)

    # An active session on a desktop that is not assigned to its user
    # (released, handed to someone else, or gone).
    audit.foreign_sessions = [
        (session_id, username, desktop_id, state, assigned)
        for session_id, username, desktop_id, state, assigned in _rows(
            conn, "SELECT s.id, s.username, s.desktop_id, d.state, "
                  "d.assigned_user FROM sessions s LEFT JOIN desktops d "
                  "ON d.id = s.desktop_id WHERE s.state = 'active'")
        if state != "assigned" or assigned != username]

    # User bindings: the desktop exists and the user's sessions are on it.
    bound = {}
    for key, desktop_id, exists in _rows(
            conn, "SELECT b.key, b.desktop_id, d.id FROM bindings b "
                  "LEFT JOIN desktops d ON d.id = b.desktop_id "
                  "WHERE b.kind = 'user'"):
        bound[key] = desktop_id
        if exists is None:
            audit.lost_bindings.append((key, desktop_id, "desktop gone"))
    for username, desktop_id in _rows(
            conn, "SELECT s.username, s.desktop_id FROM sessions s "
                  "JOIN bindings b ON b.kind = 'user' AND "
                  "b.key = s.username WHERE s.state = 'active' "
                  "AND s.desktop_id <> b.desktop_id"):
        audit.misplaced_bound_users.append(
            (username, desktop_id, bound.get(username)))

    if logins:
        for username, answer in sorted(logins.items()):
            binding = (answer or {}).get("binding")
            if binding and binding.get("kind") == "user" and \
                    username not in bound:
                audit.lost_bindings.append((username, binding["desktop_id"],
                                            "binding gone"))
        # Without logouts a desktop never goes to a second user; with
        # them, only one whose first user's session is still active.
        active = {row[0] for row in _rows(
            conn, "SELECT id FROM sessions WHERE state = 'active'")}
        holders = collections.defaultdict(set)
        for username, answer in logins.items():
            if answer and answer["session"]["id"] in active:
                holders[answer["desktop"]["id"]].add(username)
        audit.handed_twice = sorted(
            (d, sorted(u)) for d, u in holders.items() if len(u) > 1)

    if cloud_servers is not None:
        desktops = {server_id: (desktop_id, state)
                    for desktop_id, server_id, state in _rows(
                        conn, "SELECT id, server_id, state FROM desktops "
                              "WHERE server_id IS NOT NULL")}
        desktop_ids = {row[0] for row in _rows(conn,
                                               "SELECT id FROM desktops")}
        servers = set()
        for server_id, desktop_id in cloud_servers:
            servers.add(server_id)
            # A server whose desktop row has not recorded its id yet (a
            # boot under way) is no orphan: its metadata names the row.
            if server_id not in desktops and desktop_id not in desktop_ids:
                audit.orphan_servers.append(server_id)
        audit.orphan_servers.sort()
        audit.vanished_servers = sorted(
            (desktop_id, server_id)
            for server_id, (desktop_id, state) in desktops.items()
            if state in _LIVE and server_id not in servers)
        audit.counts["cloud servers"] = len(servers)


def cloud_servers(compute_driver):
    """The broker's servers in a cloud, for :func:`run`'s orphan check."""
    from vdi_broker.compute import base as compute_base
    return [(server.id, server.metadata.get(compute_base.META_DESKTOP))
            for server in compute_driver.list_servers(
                tags=[compute_base.BROKER_TAG])]
