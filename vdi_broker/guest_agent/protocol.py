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

"""What the broker and its guest agents agree on (standard library only).

The server metadata keys the broker sets at boot, the agent API's paths
and header, and the secret's hash (the broker stores only the hash).
"""

import hashlib

# Server metadata (Nova's meta_data.json "meta", or the config drive's).
META_BROKER_URL = "vdi_broker_url"
META_SECRET = "vdi_agent_secret"
# The desktop id, set on every server the broker boots (compute/base.py).
META_DESKTOP = "vdi_desktop"

REGISTER_PATH = "/v1/agent/register"
REPORT_PATH = "/v1/agent/report"
SECRET_HEADER = "X-Agent-Secret"


def secret_hash(secret):
    """The SHA-256 hex of an agent secret (what the database keeps)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
