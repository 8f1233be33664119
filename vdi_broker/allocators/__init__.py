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

"""Loading allocator plugins and walking the allocator chain."""

import threading

from oslo_config import cfg
from oslo_log import log as logging
import stevedore

from vdi_broker.allocators import base
from vdi_broker import exception

LOG = logging.getLogger(__name__)
NAMESPACE = "vdi_broker.allocators"

_plugins = {}
_lock = threading.Lock()


def plugin_names():
    """Names of the installed allocator plugins."""
    return sorted(stevedore.ExtensionManager(NAMESPACE).names())


def get_plugin(name, conf=None):
    """Return the plugin class registered as ``name``.

    The first load registers the plugin's options under
    ``[allocator.<name>]``.
    """
    with _lock:
        if name not in _plugins:
            try:
                manager = stevedore.DriverManager(NAMESPACE, name,
                                                  invoke_on_load=False)
            except (stevedore.exception.NoMatches, RuntimeError) as e:
                LOG.debug("Allocator plugin %s not loadable: %s", name, e)
                raise exception.InvalidPlugin(namespace=NAMESPACE, name=name)
            plugin = manager.driver
            if not (isinstance(plugin, type) and
                    issubclass(plugin, base.Allocator)):
                raise exception.InvalidPlugin(namespace=NAMESPACE, name=name)
            opts = plugin.get_config_opts()
            if opts:
                # Plugin options live with the plugin, as in blazar and
                # watcher; they are listed for the generator by plugin.
                (conf or cfg.CONF).register_opts(  # noqa: VB301
                    opts, group="allocator.%s" % name)
            _plugins[name] = plugin
        return _plugins[name]


def walk(conf, allocators, request):
    """Walk the allocator chain for a request (R7 step 3).

    ``allocators`` are allocator records (dicts). Enabled ones are tried by
    ascending priority (then name); the default allocator is tried last,
    whatever its rules, when no other matched. Returns
    ``(record, Decision, trace)`` for the winner, or ``(None, None, trace)``;
    ``trace`` explains every step.
    """
    trace = []
    ordered = sorted((a for a in allocators if not a.get("is_default")),
                     key=lambda a: (a["priority"], a["name"]))
    defaults = [a for a in allocators if a.get("is_default")]
    for record in ordered + defaults:
        step = {"allocator": record["name"], "id": record["id"],
                "priority": record["priority"], "plugin": record["plugin"],
                "default": bool(record.get("is_default")), "rules": []}
        trace.append(step)
        if not record.get("enabled", True):
            step["result"] = "skipped: disabled"
            continue
        try:
            plugin = get_plugin(record["plugin"], conf)(conf, record)
        except exception.InvalidPlugin:
            LOG.error("Allocator %s names plugin %s, which is not "
                      "installed; skipping it", record["name"],
                      record["plugin"])
            step["result"] = "skipped: plugin %s is not installed" % (
                record["plugin"])
            continue
        if record.get("is_default"):
            step["rules"] = [{"criterion": "*", "matched": True,
                              "detail": "default allocator"}]
        else:
            matched, results = plugin.matches(request)
            step["rules"] = [r.to_dict() for r in results]
            if not matched:
                step["result"] = "no match"
                continue
        try:
            decision = plugin.decide(request)
        except base.NotApplicable as e:
            step["result"] = "not applicable: %s" % e.reason
            continue
        step["result"] = "selected: %s" % decision.reason
        return record, decision, trace
    return None, None, trace
