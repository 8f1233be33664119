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

"""Secret job parameters, encrypted at rest.

The conductor must hand the clear value to the executor when the job
runs, so a hash will not do: secrets are encrypted with Fernet
(AES-128-CBC and HMAC-SHA256, from ``cryptography``) under keys derived
from ``[jobs] secret_keys`` (SHA-256 of each configured string), the
first encrypting and all decrypting (MultiFernet: rotation). A database
dump without the configuration reveals nothing; the ciphertext is
erased when the job ends or is cancelled.
"""

import base64
import hashlib
import json

from cryptography import fernet

from vdi_broker import exception


class SecretKeyMissing(exception.Invalid):
    msg_fmt = ("Jobs with secret parameters need [jobs] secret_keys in "
               "the broker's configuration.")


def _cipher(conf):
    keys = [k for k in conf.jobs.secret_keys if k]
    if not keys:
        raise SecretKeyMissing()
    return fernet.MultiFernet([
        fernet.Fernet(base64.urlsafe_b64encode(
            hashlib.sha256(k.encode()).digest())) for k in keys])


def seal(conf, values):
    """Encrypt a dict of secrets; None when there is none."""
    if not values:
        return None
    return _cipher(conf).encrypt(
        json.dumps(values, sort_keys=True).encode()).decode()


def unseal(conf, token):
    """The dict of secrets, or raise Invalid (no key fits)."""
    if not token:
        return {}
    try:
        return json.loads(_cipher(conf).decrypt(token.encode()))
    except fernet.InvalidToken:
        raise exception.Invalid(reason="no key of [jobs] secret_keys "
                                       "decrypts the job's secret")
