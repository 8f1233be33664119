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

"""Create the demo call centre: a directory of users and its pools.

Two sites, Shanghai and Nantong. Shanghai agents get a floating desktop
from the Shanghai pool, Nantong agents from the Nantong pool (RDP); VIP
agents keep their own desktop (user binding), reached with native SPICE
(spice-direct: ``console-file`` gives a remote-viewer ``.vv``); the
training room's seats keep theirs (seat binding); contractors outside
both sites fall through to the default allocator.
"""

import collections
import datetime
import json
import os

from oslo_utils import timeutils
from oslo_utils import uuidutils

from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.identity import static
from vdi_broker.monitoring import shift_plan

BASE_DN = "dc=callcentre,dc=example"
# Demo passwords are hashed with fewer rounds than the default so that a
# simulated shift of hundreds of logins runs in seconds on a laptop.
DEMO_ITERATIONS = 10000

# min_ready and max_size are the sizes for 300 agents; setup() sizes the
# pools to the agents asked for (pool_sizes()).
POOLS = [
    {"name": "sh-agents", "site": "shanghai", "min_ready": 180,
     "max_size": 300, "max_concurrent_builds": 25,
     "release_action": "reboot",
     "description": "Shanghai agents, floating"},
    {"name": "nt-agents", "site": "nantong", "min_ready": 180,
     "max_size": 300, "max_concurrent_builds": 25,
     "release_action": "rebuild",
     "description": "Nantong agents, floating, rebuilt at logout"},
    {"name": "vip-desktops", "site": "shanghai", "min_ready": 20,
     "max_size": 60, "max_concurrent_builds": 10, "release_action": "keep",
     "console_type": "spice-direct",
     "description": "VIP agents' personal desktops (user binding), "
                    "native SPICE: the session's console file is a .vv "
                    "for remote-viewer"},
    {"name": "training-room", "site": "shanghai", "min_ready": 8,
     "max_size": 20, "max_concurrent_builds": 8, "release_action": "keep",
     "console_type": "spice-html5",
     "description": "Training room seats (seat binding); SPICE in the "
                    "browser, so trainers open a trainee's screen from "
                    "the portal"},
]

ALLOCATORS = [
    {"name": "vip-personal", "priority": 10, "plugin": "user",
     "pool": "vip-desktops", "rules": {"groups": ["vip-agents"]},
     "description": "VIP agents always get their own desktop"},
    {"name": "training-seats", "priority": 20, "plugin": "seat",
     "pool": "training-room", "rules": {"seat_tags": ["training"]},
     "description": "Whoever sits in the training room gets that seat's "
                    "desktop"},
    {"name": "shanghai-agents", "priority": 30, "plugin": "pool",
     "pool": "sh-agents", "rules": {"ou": ["ou=shanghai," + BASE_DN]}},
    {"name": "nantong-agents", "priority": 40, "plugin": "pool",
     "pool": "nt-agents", "rules": {"ou": ["nantong"]}},
    {"name": "everyone-else", "priority": 1000, "plugin": "pool",
     "pool": "nt-agents", "is_default": True,
     "description": "Default: contractors and anyone no rule names"},
]

SEATS = ([{"name": "SH-TR-%02d" % i, "site": "shanghai",
           "location": "Shanghai 3F training room", "tags": ["training"]}
          for i in range(1, 9)] +
         [{"name": "SH-2F-%03d" % i, "site": "shanghai",
           "location": "Shanghai 2F", "tags": []} for i in range(1, 41)] +
         [{"name": "NT-1F-%03d" % i, "site": "nantong",
           "location": "Nantong 1F", "tags": []} for i in range(1, 41)])


def _agent(i):
    """(site, department, groups) of the demo agent number ``i``."""
    if i % 20 == 0:
        return "shanghai", "vip", ["vip-agents", "agents"]
    if i % 25 == 1:
        return None, "contractor", ["contractors"]
    if i % 2 == 0:
        return "shanghai", "hotel", ["hotel-agents", "agents"]
    return "nantong", "flight", ["flight-agents", "agents"]


def _pool_of(site, dept):
    """The pool ALLOCATORS give an agent who is not in a training seat."""
    if dept == "vip":
        return "vip-desktops"
    if site == "shanghai":
        return "sh-agents"
    # Nantong agents, and contractors through the default allocator.
    return "nt-agents"


def pool_sizes(count):
    """{pool name: {min_ready, max_size}} for a shift of ``count`` agents.

    The shift logs every agent in at once, so each pool keeps a ready
    desktop for every agent its allocator sends there (the training room
    one for each of its seats, whoever sits there), plus a tenth for
    headroom. max_size leaves room to boot a third more while the agents
    who took a break are away and their desktops are rebooted or rebuilt.
    """
    demand = collections.Counter(
        _pool_of(*_agent(i)[:2]) for i in range(count))
    demand["training-room"] = min(count, sum(
        1 for seat in SEATS if "training" in seat["tags"]))
    sizes = {}
    for name, agents in demand.items():
        min_ready = agents + max(2, agents // 10)
        sizes[name] = {"min_ready": min_ready,
                       "max_size": min_ready + max(4, agents // 3)}
    return sizes


# A thin client at every seat (the portal's asset pages); a few reported
# faulty by the asset managers. Their status follows their heartbeats
# (vdi-broker-shift-demo sends them); a few were last seen yesterday and
# are offline: switched off, or their network port is down.
FAULTY_CLIENTS = {"SH-2F-007": "display cable loose",
                  "NT-1F-013": "network port flapping",
                  "SH-TR-04": "keyboard missing"}
# Every n-th seat's client (not a faulty one) is offline.
OFFLINE_EVERY = 7
OFFLINE_SINCE = datetime.timedelta(hours=15)


def demo_thin_clients():
    clients = []
    for seat in SEATS:
        client = {"client_id": "tc-" + seat["name"].lower(),
                  "seat": seat["name"], "site": seat["site"],
                  "model": ("HP t640" if seat["site"] == "shanghai"
                            else "Dell Wyse 5070"),
                  "tags": [seat["name"].split("-")[1].lower()]}
        if seat["name"] in FAULTY_CLIENTS:
            client.update(status="faulty",
                          description=FAULTY_CLIENTS[seat["name"]])
        elif len(clients) % OFFLINE_EVERY == OFFLINE_EVERY - 1:
            client.update(status="offline",
                          last_seen_at=timeutils.utcnow() - OFFLINE_SINCE,
                          last_user="agent%04d" % len(clients))
        clients.append(client)
    return clients


def demo_users(count, password):
    """A directory of ``count`` agents over both sites."""
    users = []
    for i in range(count):
        site, dept, groups = _agent(i)
        username = "agent%04d" % i
        ou = ("ou=%s,ou=%s,%s" % (dept, site, BASE_DN) if site
              else "ou=contractors,%s" % BASE_DN)
        users.append({
            "username": username,
            "dn": "uid=%s,%s" % (username, ou),
            "display_name": "Agent %04d" % i,
            "groups": groups + (["%s-staff" % site] if site else []),
            "attributes": {"department": [dept],
                           "site": [site or "none"]},
            "password_hash": static.hash_password(
                password, iterations=DEMO_ITERATIONS),
        })
    return users


def _ensure(create, values, resource):
    try:
        create(values)
        return "created %s %s" % (resource, values["name"])
    except exception.DuplicateName:
        return "kept existing %s %s" % (resource, values["name"])


def _users_in(users_file):
    """How many users the file holds (None: no readable users file)."""
    try:
        with open(users_file, encoding="utf-8") as f:
            return len(json.load(f)["users"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _resize(ctxt, sizes):
    """Resize pools a previous run created for another number of agents."""
    summary = []
    for name, size in sorted(sizes.items()):
        pool = db.pool_get(ctxt, name)
        if any(pool[key] != value for key, value in size.items()):
            db.pool_update(ctxt, name, size)
            summary.append("resized pool %s to min_ready %d, max_size %d"
                           % (name, size["min_ready"], size["max_size"]))
    return summary


# Departments of the business monitoring (R15), matched on the directory
# attribute the demo users carry; contractors belong to none.
DEPARTMENTS = [
    {"name": "vip", "priority": 10,
     "rules": {"attributes": {"department": ["vip"]}},
     "description": "VIP agents"},
    {"name": "hotel", "priority": 20,
     "rules": {"attributes": {"department": ["hotel"]}},
     "description": "Hotel bookings"},
    {"name": "flight", "priority": 30,
     "rules": {"attributes": {"department": ["flight"]}},
     "description": "Flight bookings"},
    {"name": "insurance", "priority": 40,
     "rules": {"attributes": {"department": ["insurance"]}},
     "description": "Travel insurance: a new team, planned at Nantong "
                    "from today, its agents not in the directory yet"},
]
# The new team's plan: its agents never log in, so the conductor's alert
# evaluation raises agents_below_plan for insurance@nantong (the
# portal's alerts page and the overview's firing alerts show it).
NEW_TEAM = ("insurance", "nantong", 12)


def plan_csv(count, dates):
    """The demo's shift plan: every 30-minute slot of ``dates``.

    Each department and site expects nine in ten of its agents (the
    simulated shift logs them all in, a third take a break).
    """
    teams = collections.Counter(
        _agent(i)[1::-1] for i in range(count) if _agent(i)[0])
    # The new team's agents, of whom the plan expects nine in ten too.
    teams[NEW_TEAM[:2]] = NEW_TEAM[2]
    lines = ["date,slot_start,department,site,expected"]
    for date in dates:
        for minutes in range(0, 24 * 60, 30):
            for (dept, site), agents in sorted(teams.items()):
                lines.append("%s,%02d:%02d,%s,%s,%d" % (
                    date.isoformat(), minutes // 60, minutes % 60, dept,
                    site, agents * 9 // 10))
    return "\n".join(lines) + "\n"


def _monitoring(ctxt, count, timezone):
    summary = []
    for department in DEPARTMENTS:
        summary.append(_ensure(lambda v: db.department_create(ctxt, v),
                               dict(department), "department"))
    today = timeutils.utcnow().replace(tzinfo=datetime.timezone.utc) \
        .astimezone(shift_plan._zone(timezone)).date()
    dates = [today + datetime.timedelta(days=d) for d in range(2)]
    plan = shift_plan.parse(plan_csv(count, dates), timezone=timezone)
    result = db.shift_plan_import(ctxt, shift_plan.to_utc(plan, timezone))
    summary.append("imported a shift plan of %d slots for %s (%s)" % (
        result["slots"], ", ".join(d.isoformat() for d in dates),
        timezone))
    return summary


def setup(ctxt, users_file, count, password, timezone="UTC"):
    summary = []
    users_file = os.path.abspath(users_file)
    os.makedirs(os.path.dirname(users_file), exist_ok=True)
    if _users_in(users_file) != count:
        with open(users_file, "w", encoding="utf-8") as f:
            json.dump({"users": demo_users(count, password)}, f, indent=1)
        os.chmod(users_file, 0o600)
        summary.append("wrote %d demo users to %s (password: %s)" % (
            count, users_file, password))
    else:
        summary.append("kept existing users file %s" % users_file)
    sizes = pool_sizes(count)
    for pool in POOLS:
        values = dict({"flavor": "win10-4c8g", "image": "win10-golden",
                       "networks": ["agents-net"], "console_type": "rdp"},
                      **pool)
        values.update(sizes.get(pool["name"], {}))
        summary.append(_ensure(lambda v: db.pool_create(ctxt, v), values,
                               "pool"))
    summary.extend(_resize(ctxt, sizes))
    for allocator in ALLOCATORS:
        values = dict(allocator)
        values["pool_id"] = db.pool_get(ctxt, values.pop("pool"))["id"]
        summary.append(_ensure(lambda v: db.allocator_create(ctxt, v),
                               values, "allocator"))
    created = 0
    for seat in SEATS:
        if db.seat_find(ctxt, seat["name"]) is None:
            db.seat_create(ctxt, seat)
            created += 1
    summary.append("created %d seats" % created)
    created = 0
    for client in demo_thin_clients():
        try:
            db.thin_client_get(ctxt, client["client_id"])
        except exception.ThinClientNotFound:
            db.thin_client_create(ctxt, dict(client))
            created += 1
    summary.append("registered %d thin clients" % created)
    summary.extend(_demo_jobs(ctxt))
    summary.extend(_maintenance(ctxt))
    summary.extend(_monitoring(ctxt, count, timezone))
    return summary


# Guest jobs of the portal's maintenance page: an inventory that the
# conductor runs at once on the training room (fake executor), and a
# message to the Shanghai agents due in two hours.
DEMO_JOBS = [
    {"name": "training-room inventory", "kind": "command",
     "parameters": {"command": "systeminfo"},
     "targets": {"pools": ["training-room"]}, "in_use": "skip",
     "hours": 0},
    {"name": "shift change notice", "kind": "message",
     "parameters": {"message": "Desktops of the day shift restart at "
                               "20:00. Save your work.", "seconds": 600},
     "targets": {"pools": ["sh-agents"]}, "in_use": "run", "hours": 2},
]


def _demo_jobs(ctxt):
    known = {j["name"] for j in db.job_list(ctxt)}
    summary = []
    for job in DEMO_JOBS:
        if job["name"] in known:
            summary.append("kept existing job %s" % job["name"])
            continue
        values = {k: v for k, v in job.items() if k != "hours"}
        values.update(
            id=uuidutils.generate_uuid(), secret=None, max_retries=1,
            retry_delay=60, concurrency=10, timeout=None,
            created_by="demo",
            run_at=timeutils.utcnow() + datetime.timedelta(
                hours=job["hours"]))
        db.job_create(ctxt, values)
        summary.append("created job %s" % job["name"])
    return summary


# The portal's roll-out and window pages: a draining window at Nantong on
# Saturday nights, the training room's weekday evenings, and the VIP
# pool moved to December's image (its desktops boot on it, so the
# conductor completes the roll-out at its first pass).
DEMO_WINDOWS = [
    {"name": "nantong-saturday-night", "site": "nantong",
     "cron": "0 22 * * sat", "timezone": "Asia/Shanghai",
     "duration_minutes": 240, "drain": True,
     "description": "Weekly maintenance of the Nantong floor: no new "
                    "logins, agents warned"},
    {"name": "training-room-evenings", "pool_id": "training-room",
     "cron": "30 18 * * mon-fri", "timezone": "Asia/Shanghai",
     "duration_minutes": 90, "drain": False,
     "description": "After the last class"},
]
DEMO_ROLLOUT = {"pool": "vip-desktops", "image": "win10-golden-2026-12",
                "canary_share": 0.2, "wave_size": 4, "max_failures": 1}


def _maintenance(ctxt):
    summary = []
    known = {w["name"] for w in db.window_list(ctxt)}
    for window in DEMO_WINDOWS:
        if window["name"] in known:
            summary.append("kept existing maintenance window %s" %
                           window["name"])
            continue
        values = dict(window)
        if values.get("pool_id"):
            values["pool_id"] = db.pool_get(ctxt, values["pool_id"])["id"]
        db.window_create(ctxt, values)
        summary.append("created maintenance window %s" % window["name"])
    pool = db.pool_get(ctxt, DEMO_ROLLOUT["pool"])
    if any(r["image"] == DEMO_ROLLOUT["image"] for r in
           db.rollout_list(ctxt, {"pool_id": pool["id"]})):
        summary.append("kept existing roll-out of pool %s" % pool["name"])
        return summary
    values = dict(DEMO_ROLLOUT, id=uuidutils.generate_uuid(),
                  pool=pool["id"], window_id=None, created_by="demo")
    try:
        db.rollout_create(ctxt, values)
    except exception.Conflict as e:
        summary.append("no roll-out of pool %s: %s" % (pool["name"], e))
        return summary
    summary.append("started the roll-out of pool %s to image %s" % (
        pool["name"], DEMO_ROLLOUT["image"]))
    return summary
