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

"""Where the agent finds its broker, its desktop id and its secret.

In this order (the first that answers wins):

1. a local override file (JSON: ``{"meta": {...}}`` like Nova's
   meta_data.json, or the keys themselves), for tests and for images
   without metadata;
2. the config drive's ``openstack/latest/meta_data.json`` (a mounted
   directory, ``/mnt/config`` or a drive such as ``D:\\``);
3. Nova's metadata service,
   ``http://169.254.169.254/openstack/latest/meta_data.json``.

The keys (vdi_broker_url, vdi_agent_secret, vdi_desktop) are in the
document's ``meta``: the server metadata the broker set at boot.
"""

import json
import os
import urllib.error
import urllib.request

from vdi_broker.guest_agent import protocol

METADATA_URL = "http://169.254.169.254/openstack/latest/meta_data.json"
CONFIG_DRIVE_FILE = os.path.join("openstack", "latest", "meta_data.json")
DEFAULT_CONFIG_DRIVES = ("/mnt/config", "/media/config-2", "D:\\", "E:\\")


class MetadataError(Exception):
    """No source gave the agent's settings."""


def _from_document(document):
    meta = document.get("meta", document) if isinstance(document,
                                                        dict) else {}
    if not isinstance(meta, dict):
        return None
    desktop_id = meta.get(protocol.META_DESKTOP)
    secret = meta.get(protocol.META_SECRET)
    url = meta.get(protocol.META_BROKER_URL)
    if not (desktop_id and secret and url):
        return None
    return {"broker_url": str(url).rstrip("/"), "secret": str(secret),
            "desktop_id": str(desktop_id)}


def _read_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _read_url(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read(1024 * 1024).decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def load(override_file=None, config_drives=DEFAULT_CONFIG_DRIVES,
         metadata_url=METADATA_URL, timeout=5.0):
    """The agent's settings: {"broker_url", "secret", "desktop_id"}.

    Raises MetadataError when no source has all three.
    """
    tried = []
    if override_file:
        tried.append(override_file)
        settings = _from_document(_read_file(override_file))
        if settings:
            return settings
    for drive in config_drives or ():
        path = os.path.join(drive, CONFIG_DRIVE_FILE)
        if not os.path.exists(path):
            continue
        tried.append(path)
        settings = _from_document(_read_file(path))
        if settings:
            return settings
    if metadata_url:
        tried.append(metadata_url)
        settings = _from_document(_read_url(metadata_url, timeout))
        if settings:
            return settings
    raise MetadataError("no broker URL, desktop id and agent secret in %s"
                        % (", ".join(tried) or "no source"))
