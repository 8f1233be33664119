"""Client side of the conductor RPC API.

API version history:

* 1.0 - Initial version: allocate, explain, get_connection, close_session.
* 1.1 - Add get_connection_file.

Every call is a blocking ``call`` bounded by ``[api] conductor_timeout``;
a conductor that does not answer in time gives a 503, never a hung login.
"""

import oslo_messaging as messaging

from vdi_broker import exception
from vdi_broker import rpc


class ConductorMethods:
    """The conductor's methods; subclasses say how a call is made."""

    def _call(self, ctxt, method, version="1.0", **kwargs):
        raise NotImplementedError()

    def allocate(self, ctxt, login):
        return self._call(ctxt, "allocate", login=login)

    def explain(self, ctxt, login):
        return self._call(ctxt, "explain", login=login)

    def get_connection(self, ctxt, session_id):
        return self._call(ctxt, "get_connection", session_id=session_id)

    def get_connection_file(self, ctxt, session_id):
        return self._call(ctxt, "get_connection_file", version="1.1",
                          session_id=session_id)

    def close_session(self, ctxt, session_id, reason):
        return self._call(ctxt, "close_session", session_id=session_id,
                          reason=reason)


class ConductorAPI(ConductorMethods):
    """Calls the conductors over RPC."""

    RPC_API_VERSION = "1.1"

    def __init__(self, conf):
        self.conf = conf
        target = messaging.Target(topic=conf.conductor.topic,
                                  version=self.RPC_API_VERSION)
        self.client = rpc.get_client(conf, target,
                                     version_cap=self.RPC_API_VERSION,
                                     timeout=conf.api.conductor_timeout)

    def _call(self, ctxt, method, version="1.0", **kwargs):
        cctxt = self.client.prepare(version=version)
        try:
            return cctxt.call(ctxt, method, **kwargs)
        except messaging.MessagingTimeout:
            raise exception.ConductorUnavailable()
