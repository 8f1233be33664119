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
