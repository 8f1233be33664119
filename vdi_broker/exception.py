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

"""The broker's exception tree.

Every error a client can see is a :class:`VdiBrokerException` with an HTTP
status code and a message built from ``msg_fmt``; ``api/fault.py`` turns them
into JSON errors. Anything else is a bug and becomes a bare 500 with no
details.
"""

from vdi_broker.i18n import _


class VdiBrokerException(Exception):
    msg_fmt = _("An unknown error occurred.")
    code = 500
    title = "Internal Server Error"
    # Extra headers the API adds to the error response (e.g. Retry-After).
    headers = {}

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if not message:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A wrong format argument must not hide the real error.
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def details(self):
        """Machine-readable details safe to return to a client."""
        return {}


class Invalid(VdiBrokerException):
    msg_fmt = _("Invalid input: %(reason)s")
    code = 400
    title = "Bad Request"


class InvalidPlugin(Invalid):
    msg_fmt = _("Unknown %(namespace)s plugin '%(name)s'.")


class InvalidRules(Invalid):
    msg_fmt = _("Invalid allocator rules: %(reason)s")


class NotAuthenticated(VdiBrokerException):
    msg_fmt = _("Authentication required.")
    code = 401
    title = "Unauthorized"


class LoginFailed(NotAuthenticated):
    # The same message for an unknown user and a wrong password: no
    # user enumeration. Drivers say why in the ``reason`` keyword
    # (unknown_user, wrong_password, ...: identity/failure_events.py),
    # which goes to the failed-login event only, never to the client.
    msg_fmt = _("Invalid username or password.")


class InvalidSessionToken(NotAuthenticated):
    msg_fmt = _("The session token is missing, invalid or expired.")


class MetricsUnauthorized(NotAuthenticated):
    msg_fmt = _("The metrics need a bearer token.")
    headers = {"WWW-Authenticate": 'Bearer realm="vdi-broker metrics"'}


class InvalidAgentSecret(NotAuthenticated):
    # The same message for an unknown desktop and a wrong secret.
    msg_fmt = _("The desktop id or its agent secret is missing or invalid.")


class Forbidden(VdiBrokerException):
    msg_fmt = _("Forbidden.")
    code = 403
    title = "Forbidden"


class PolicyNotAuthorized(Forbidden):
    msg_fmt = _("Policy does not allow %(action)s to be performed.")


class MetricsForbidden(Forbidden):
    msg_fmt = _("This address may not read the metrics.")


class NoAllocatorMatches(Forbidden):
    msg_fmt = _("No allocator serves user %(username)s.")

    def details(self):
        return {"tried": self.kwargs.get("tried", [])}


class NotFound(VdiBrokerException):
    msg_fmt = _("Resource could not be found.")
    code = 404
    title = "Not Found"


class RouteNotFound(NotFound):
    msg_fmt = _("No resource at %(path)s.")


class MethodNotAllowed(VdiBrokerException):
    msg_fmt = _("%(method)s is not allowed on %(path)s; use %(allow)s.")
    code = 405
    title = "Method Not Allowed"

    @property
    def headers(self):
        return {"Allow": self.kwargs.get("allow", "")}


class InvalidVersion(Invalid):
    msg_fmt = _("Invalid OpenStack-API-Version header: %(reason)s")


class VersionNotAcceptable(VdiBrokerException):
    msg_fmt = _("API version %(version)s is not supported; this broker "
                "serves %(min_version)s to %(max_version)s.")
    code = 406
    title = "Not Acceptable"

    def details(self):
        return {"min_version": self.kwargs.get("min_version"),
                "max_version": self.kwargs.get("max_version")}


class PoolNotFound(NotFound):
    msg_fmt = _("Pool %(pool)s could not be found.")


class DesktopNotFound(NotFound):
    msg_fmt = _("Desktop %(desktop)s could not be found.")


class AllocatorNotFound(NotFound):
    msg_fmt = _("Allocator %(allocator)s could not be found.")


class BindingNotFound(NotFound):
    msg_fmt = _("Binding %(binding)s could not be found.")


class SessionNotFound(NotFound):
    msg_fmt = _("Session %(session)s could not be found.")


class SeatNotFound(NotFound):
    msg_fmt = _("Seat %(seat)s could not be found.")


class SeatNotRegistered(SeatNotFound):
    msg_fmt = _("Seat %(seat)s is not registered; an administrator "
                "registers seats (POST /v1/seats).")


class ThinClientNotFound(NotFound):
    msg_fmt = _("Thin client %(client)s could not be found.")


class ScheduleNotFound(NotFound):
    msg_fmt = _("Schedule %(schedule)s could not be found.")


class DepartmentNotFound(NotFound):
    msg_fmt = _("Department %(department)s could not be found.")


class AlertNotFound(NotFound):
    msg_fmt = _("Alert %(alert)s could not be found.")


class JobNotFound(NotFound):
    msg_fmt = _("Job %(job)s could not be found.")


class RolloutNotFound(NotFound):
    msg_fmt = _("Roll-out %(rollout)s could not be found.")


class MaintenanceWindowNotFound(NotFound):
    msg_fmt = _("Maintenance window %(window)s could not be found.")


class EventNotFound(NotFound):
    msg_fmt = _("Event %(event)s could not be found.")


class IncidentNotFound(NotFound):
    msg_fmt = _("Incident %(incident)s could not be found.")


class Conflict(VdiBrokerException):
    msg_fmt = _("Conflict: %(reason)s")
    code = 409
    title = "Conflict"


class DuplicateName(Conflict):
    msg_fmt = _("A %(resource)s named %(name)s already exists.")


class BindingExists(Conflict):
    msg_fmt = _("A %(kind)s binding for %(key)s already exists.")


class DesktopNotAvailable(Conflict):
    msg_fmt = _("Desktop %(desktop)s is %(state)s, not %(expected)s.")


class InUse(Conflict):
    msg_fmt = _("%(resource)s %(id)s is still in use: %(reason)s")


class ServiceUnavailable(VdiBrokerException):
    msg_fmt = _("Service unavailable: %(reason)s")
    code = 503
    title = "Service Unavailable"
    retry_after = 30

    @property
    def headers(self):
        return {"Retry-After": str(self.kwargs.get("retry_after",
                                                   self.retry_after))}


class PoolExhausted(ServiceUnavailable):
    msg_fmt = _("Pool %(pool)s has no ready desktop right now.")
    retry_after = 15

    def details(self):
        details = {k: self.kwargs[k] for k in ("pool", "status", "ready",
                                               "building", "status_reason")
                   if k in self.kwargs}
        reason = details.get("status_reason")
        if details.get("status") == "cloud_down" and reason:
            # Which cloud and since when, not its endpoints and errors
            # (compute/registry.py Health.reason): this goes to thin
            # clients; operators read the whole reason in the pool.
            details["status_reason"] = reason.split(" (", 1)[0]
        return details


class SiteUnavailable(ServiceUnavailable):
    msg_fmt = _("No pool of site %(site)s can serve this login: "
                "%(reason)s")
    retry_after = 15

    def details(self):
        return {"code": "site_no_pool", "site": self.kwargs.get("site"),
                "allocator": self.kwargs.get("allocator")}


class IdentityUnavailable(ServiceUnavailable):
    # The reason names directory servers: it is logged, not sent to thin
    # clients.
    msg_fmt = _("The directory cannot be reached right now; try again "
                "shortly.")
    retry_after = 10


class ComputeUnavailable(ServiceUnavailable):
    msg_fmt = _("The compute service cannot be reached: %(reason)s")


class ComputeTimeout(ComputeUnavailable):
    msg_fmt = _("The compute service did not answer in time: %(reason)s")


class ConsoleTimeout(ComputeTimeout):
    msg_fmt = _("The %(console_type)s console of server %(server)s was not "
                "given within %(timeout)s seconds.")


class LoginNotConnected(ServiceUnavailable):
    """A login claimed desktops but could connect none of them.

    Every claim was undone (see conductor/login.py); ``reason`` is the
    last failure's message, which names no secret.
    """
    msg_fmt = _("No desktop of pool %(pool)s could be connected after "
                "%(tries)d tries: %(reason)s")
    retry_after = 15

    def details(self):
        return {k: self.kwargs[k] for k in ("pool", "tries")
                if k in self.kwargs}


class ConductorUnavailable(ServiceUnavailable):
    msg_fmt = _("The conductor did not answer in time.")
    retry_after = 5


class DatabaseUnavailable(ServiceUnavailable):
    msg_fmt = _("The database is not reachable right now.")
    retry_after = 5


class LoginInProgress(ServiceUnavailable):
    msg_fmt = _("Another login of this user is still under way; try again "
                "shortly.")
    retry_after = 5


class CoordinationUnsupported(VdiBrokerException):
    msg_fmt = _("The coordination backend %(backend)s cannot be used: "
                "%(reason)s")


class ComputeError(VdiBrokerException):
    msg_fmt = _("Compute error: %(reason)s")


class ServerNotFound(ComputeError):
    msg_fmt = _("Server %(server)s does not exist in the cloud.")
    code = 404
    title = "Not Found"


class AgentNotRegistered(Conflict):
    msg_fmt = _("The agent of desktop %(desktop)s has not registered since "
                "its secret was set: register first.")


class RequestTooLarge(VdiBrokerException):
    msg_fmt = _("The request body is larger than %(limit)d bytes.")
    code = 413
    title = "Payload Too Large"


class AgentReportTooSoon(VdiBrokerException):
    msg_fmt = _("Reports of desktop %(desktop)s are too frequent; try "
                "again in %(retry_after)s seconds.")
    code = 429
    title = "Too Many Requests"

    @property
    def headers(self):
        return {"Retry-After": str(self.kwargs.get("retry_after", 1))}


class LoginThrottled(VdiBrokerException):
    # The same message whether the user name exists or not; ``locked``
    # (user, client) is for the event only.
    msg_fmt = _("Too many failed logins. Try again later.")
    code = 429
    title = "Too Many Requests"
    retry_after = 60

    @property
    def headers(self):
        return {"Retry-After": str(self.kwargs.get("retry_after",
                                                   self.retry_after))}


class BuildFailed(ComputeError):
    msg_fmt = _("Server %(server)s failed to build: %(reason)s")


class NoValidHost(BuildFailed):
    msg_fmt = _("No host can take server %(server)s: %(reason)s")


class BuildTimeout(BuildFailed):
    msg_fmt = _("Server %(server)s did not become ACTIVE within "
                "%(timeout)s seconds.")


class ConsoleUnavailable(ComputeError):
    msg_fmt = _("No %(console_type)s console for server %(server)s: "
                "%(reason)s")
    code = 409
    title = "Conflict"


class ConsoleNotReady(ConsoleUnavailable):
    """The server cannot give a console in its state (Nova's 409).

    The desktop's own fault, unlike a console type Nova does not offer or
    a cloud that does not answer: a login quarantines the desktop.
    """
    msg_fmt = _("The %(console_type)s console of server %(server)s is not "
                "available in its present state: %(reason)s")


class CloudUnknown(Invalid):
    msg_fmt = _("Unknown cloud %(cloud)s: the broker's clouds are "
                "%(known)s ([compute] clouds; a pool without a cloud lives "
                "in the default cloud).")


class ConsoleTypeUnsupported(Conflict):
    msg_fmt = _("Console type %(console_type)s cannot be served by the "
                "%(driver)s compute driver: %(reason)s")
