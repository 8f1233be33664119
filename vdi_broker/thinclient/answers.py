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

"""What each answer of the thin-client API means to the agent.

:func:`login_answer` turns the outcome of ``POST /v1/client/sessions``
into an :class:`Answer`: a short key (for the log and the tests), the
message the login window shows in the configured language, and the
seconds of a ``Retry-After`` the window counts down. The keys and what
the broker answers for each are listed in the admin guide's thin-client
chapter and in ``doc/source/api-ref/client.rst``.

Pure functions: no network, no UI.
"""

from vdi_broker.thinclient.i18n import N_

ERROR = "error"
WARNING = "warning"
INFO = "info"

# key -> (message, level). Messages take str.format() fields: seconds
# (the Retry-After countdown), seat, pool, ready, building, status,
# protocol, program, name.
MESSAGES = {
    # -- answers to a login -------------------------------------------------
    "wrong_password": (N_("Wrong user name or password."), ERROR),
    "locked_out": (N_("Too many failed logins. Try again in {seconds} s."),
                   ERROR),
    "no_allocator": (N_("No desktop is set up for this user. Please "
                        "contact IT support."), ERROR),
    "seat_unknown": (N_("This seat ({seat}) is not registered with the "
                        "desktop service. Please contact IT support."),
                     ERROR),
    "pool_busy": (N_("No desktop is free right now ({ready} ready, "
                     "{building} starting). Try again in {seconds} s."),
                  WARNING),
    "pool_closed": (N_("Your desktops are closed right now. Please "
                       "contact IT support."), ERROR),
    "not_connected": (N_("No desktop could be connected. Try again in "
                         "{seconds} s."), WARNING),
    "unavailable": (N_("The desktop service is busy or restarting. Try "
                       "again in {seconds} s."), WARNING),
    "conflict": (N_("The desktop service was busy with your login. "
                    "Please try again."), WARNING),
    "bad_request": (N_("The user name or password contains characters "
                       "the desktop service does not accept."), ERROR),
    "server_error": (N_("The desktop service had an internal error "
                        "({status}). Try again; if it persists, contact IT "
                        "support."), ERROR),
    "unexpected": (N_("Unexpected answer from the desktop service "
                      "({status})."), ERROR),
    "unreachable": (N_("Cannot reach the desktop service. Check the "
                       "network cable, or contact IT support."), ERROR),
    "timeout": (N_("The desktop service did not answer in time. Please "
                   "try again."), WARNING),
    "tls": (N_("The secure connection to the desktop service failed "
               "(certificate). Please contact IT support."), ERROR),
    # -- what happens after a login -----------------------------------------
    "logging_in": (N_("Logging in..."), INFO),
    "connecting": (N_("Connecting to your desktop {name}..."), INFO),
    "reconnecting": (N_("The desktop connection was lost. Reconnecting "
                        "to {name}..."), WARNING),
    "logged_out": (N_("You are logged out."), INFO),
    "session_ended": (N_("Your session was ended by the desktop service. "
                         "Please log in again."), WARNING),
    "fault_reported": (N_("Your desktop {name} does not respond and was "
                          "reported. Please wait: you will be connected "
                          "again, or moved to another desktop, within "
                          "minutes."), WARNING),
    "faulted": (N_("Your desktop did not work and was reported to IT. "
                   "Log in again to get another desktop."), WARNING),
    "viewer_failed": (N_("Your desktop could not be opened. Please log in "
                         "again, or contact IT support."), ERROR),
    "unsupported_protocol": (N_("This desktop uses {protocol}, which this "
                                "thin client cannot open. Please contact "
                                "IT support."), ERROR),
    "viewer_missing": (N_("The desktop viewer ({program}) is not "
                          "installed on this thin client. Please contact "
                          "IT support."), ERROR),
}

# Labels of the login window.
LABELS = {
    "title": N_("Desktop login"),
    "username": N_("User name"),
    "password": N_("Password"),
    "login": N_("Log in"),
    "client": N_("Thin client {client}"),
    "seat": N_("Seat {seat}"),
    "online": N_("Desktop service reachable"),
    "offline": N_("Desktop service not reachable"),
    "again": N_("You can try again now."),
}


class Answer:
    """One message for the agent, with its countdown if any."""

    __slots__ = ("key", "level", "params", "retry_after", "http_status")

    def __init__(self, key, http_status=None, retry_after=None, **params):
        self.key = key
        self.level = MESSAGES[key][1]
        self.http_status = http_status
        self.retry_after = retry_after
        self.params = params

    def text(self, translations, remaining=None):
        """The message in the language of ``translations``.

        ``remaining`` replaces the Retry-After seconds while the window
        counts down.
        """
        seconds = self.retry_after if remaining is None else remaining
        params = dict(self.params, seconds=seconds if seconds is not None
                      else "?")
        return translations.gettext(MESSAGES[self.key][0]).format(**params)

    def __repr__(self):
        return "Answer(%s, http_status=%s, retry_after=%s)" % (
            self.key, self.http_status, self.retry_after)


def _error(outcome):
    body = outcome.body if isinstance(outcome.body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _details(outcome):
    details = _error(outcome).get("details")
    return details if isinstance(details, dict) else {}


def login_answer(outcome, seat=None):
    """The :class:`Answer` to a failed login ``outcome``.

    ``outcome`` is a :class:`vdi_broker.loadgen.client.Outcome`; ``seat``
    the seat the client named.
    """
    status = outcome.status
    if status is None:
        # No HTTP answer at all: refused, unreachable, timed out, TLS.
        key = {"timeout": "timeout", "tls": "tls"}.get(outcome.kind,
                                                       "unreachable")
        return Answer(key)
    if status == 401:
        return Answer("wrong_password", status)
    if status == 429:
        return Answer("locked_out", status,
                      retry_after=outcome.retry_after)
    if status == 403:
        return Answer("no_allocator", status)
    if status == 404:
        # The only 404 of a login: the seat has no record.
        return Answer("seat_unknown", status, seat=seat or "-")
    if status in (400, 413):
        return Answer("bad_request", status)
    if status == 409:
        return Answer("conflict", status)
    if status == 503:
        return _unavailable(outcome)
    if status >= 500:
        return Answer("server_error", status, status=status)
    return Answer("unexpected", status, status=status)


def _unavailable(outcome):
    """503: which of the broker's reasons (its error details say)."""
    details = _details(outcome)
    retry_after = outcome.retry_after
    if "tries" in details:
        # LoginNotConnected: desktops claimed, none could be connected.
        return Answer("not_connected", 503, retry_after=retry_after,
                      pool=details.get("pool", ""))
    if "ready" in details or details.get("status") == "disabled":
        # PoolExhausted: the pool's state is in the details.
        if details.get("status") == "disabled":
            return Answer("pool_closed", 503, pool=details.get("pool", ""))
        return Answer("pool_busy", 503, retry_after=retry_after,
                      pool=details.get("pool", ""),
                      ready=details.get("ready", 0),
                      building=details.get("building", 0))
    # The directory, the conductor or the database: try again shortly.
    return Answer("unavailable", 503, retry_after=retry_after)
