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

"""The guest agent's probes on Windows: ctypes against documented Win32.

Two layers:

* :class:`Win32`: the calls, through ``ctypes.WinDLL`` (only created on
  Windows; the module itself imports anywhere, so that its decoding is
  tested on Linux with fake DLLs):

  - ``wtsapi32.WTSEnumerateSessionsW``: every session (id, WinStation
    name, ``WTS_CONNECTSTATE_CLASS``), freed with ``WTSFreeMemory``;
  - ``wtsapi32.WTSQuerySessionInformationW(..., WTSSessionInfo)``: one
    session's ``WTSINFOW`` (state, user and domain, ``LastInputTime``
    and ``CurrentTime`` as FILETIMEs);
  - ``user32.GetLastInputInfo`` and ``kernel32.GetTickCount``: the idle
    time of the session the agent runs in, used when WTSINFOW says no
    last input (the console session on some Windows versions) and the
    agent runs in the user's session (``kernel32.ProcessIdToSessionId``;
    as a service, in session 0, it cannot see the user's input);
  - ``kernel32.GlobalMemoryStatusEx``, ``kernel32.GetDiskFreeSpaceExW``,
    ``kernel32.GetSystemTimes``.

* :class:`WindowsProbes`: a report's fields from those answers; the
  choice of the user's session and the mapping of its state are pure
  functions (:func:`user_session`, :func:`connection_state`,
  :func:`display_state`).

The structures use 16-bit integer arrays for ``WCHAR`` (UTF-16 on
Windows whatever ``ctypes.c_wchar`` is where the tests run), so their
layout is Windows' own on every platform. Not run on a real Windows
here (see doc/source/admin/guest-agent.rst).
"""

import ctypes
import logging

LOG = logging.getLogger(__name__)

WTS_CURRENT_SERVER_HANDLE = None
# WTS_INFO_CLASS
WTS_SESSION_INFO_CLASS = 24
# WTS_CONNECTSTATE_CLASS
WTS_ACTIVE = 0
WTS_CONNECTED = 1
WTS_CONNECT_QUERY = 2
WTS_SHADOW = 3
WTS_DISCONNECTED = 4
WTS_IDLE = 5
WTS_LISTEN = 6
WTS_RESET = 7
WTS_DOWN = 8
WTS_INIT = 9
# wtsapi32.h
WINSTATIONNAME_LENGTH = 32
DOMAIN_LENGTH = 17
USERNAME_LENGTH = 20
# FILETIME and LARGE_INTEGER times: 100 ns units.
TICKS_PER_SECOND = 10 ** 7
# The longest string read from a LPWSTR the system gave.
_MAX_CHARS = 256

DWORD = ctypes.c_uint32
WCHAR = ctypes.c_uint16
LARGE_INTEGER = ctypes.c_int64
ULARGE_INTEGER = ctypes.c_uint64


class WTS_SESSION_INFOW(ctypes.Structure):
    _fields_ = [("SessionId", DWORD),
                # LPWSTR, decoded by utf16_at.
                ("pWinStationName", ctypes.c_void_p),
                ("State", ctypes.c_int)]


class WTSINFOW(ctypes.Structure):
    _fields_ = [("State", ctypes.c_int),
                ("SessionId", DWORD),
                ("IncomingBytes", DWORD),
                ("OutgoingBytes", DWORD),
                ("IncomingFrames", DWORD),
                ("OutgoingFrames", DWORD),
                ("IncomingCompressedBytes", DWORD),
                ("OutgoingCompressedBytes", DWORD),
                ("WinStationName", WCHAR * WINSTATIONNAME_LENGTH),
                ("Domain", WCHAR * DOMAIN_LENGTH),
                ("UserName", WCHAR * (USERNAME_LENGTH + 1)),
                ("ConnectTime", LARGE_INTEGER),
                ("DisconnectTime", LARGE_INTEGER),
                ("LastInputTime", LARGE_INTEGER),
                ("LogonTime", LARGE_INTEGER),
                ("CurrentTime", LARGE_INTEGER)]


class MEMORYSTATUSEX(ctypes.Structure):
    _fields_ = [("dwLength", DWORD),
                ("dwMemoryLoad", DWORD),
                ("ullTotalPhys", ctypes.c_uint64),
                ("ullAvailPhys", ctypes.c_uint64),
                ("ullTotalPageFile", ctypes.c_uint64),
                ("ullAvailPageFile", ctypes.c_uint64),
                ("ullTotalVirtual", ctypes.c_uint64),
                ("ullAvailVirtual", ctypes.c_uint64),
                ("ullAvailExtendedVirtual", ctypes.c_uint64)]


class LASTINPUTINFO(ctypes.Structure):
    _fields_ = [("cbSize", ctypes.c_uint),
                ("dwTime", DWORD)]


class FILETIME(ctypes.Structure):
    _fields_ = [("dwLowDateTime", DWORD),
                ("dwHighDateTime", DWORD)]

    @property
    def value(self):
        return (self.dwHighDateTime << 32) | self.dwLowDateTime


def _last_error():
    """The calling thread's last Win32 error (0 where there is none)."""
    get = getattr(ctypes, "get_last_error", None)
    return get() if get is not None else 0


def utf16_at(address, limit=_MAX_CHARS):
    """The NUL-terminated UTF-16 string at ``address`` ('' for NULL)."""
    if not address:
        return ""
    units = (WCHAR * limit).from_address(address)
    chars = []
    for unit in units:
        if unit == 0:
            break
        chars.append(unit)
    return utf16(chars)


def utf16(units):
    """A string from UTF-16 code units, up to the first NUL."""
    units = list(units)
    if 0 in units:
        units = units[:units.index(0)]
    data = b"".join(u.to_bytes(2, "little") for u in units)
    return data.decode("utf-16-le", "replace")


class Session:
    """One Windows session, as :class:`WindowsProbes` sees it."""

    __slots__ = ("id", "station", "state", "user", "domain", "idle")

    def __init__(self, id, station, state, user="", domain="", idle=None):
        self.id = id
        self.station = station
        self.state = state
        self.user = user
        self.domain = domain
        self.idle = idle

    def __repr__(self):
        return "<Session %d %s state %d user %r>" % (
            self.id, self.station, self.state, self.user)


def session_from_info(info):
    """A :class:`Session` from a ``WTSINFOW``.

    Idle seconds: CurrentTime - LastInputTime, both from the same call
    (so the desktop's clock does not matter); None when the system
    recorded no input time.
    """
    idle = None
    if info.LastInputTime > 0 and info.CurrentTime >= info.LastInputTime:
        idle = (info.CurrentTime - info.LastInputTime) // TICKS_PER_SECOND
    return Session(info.SessionId, utf16(info.WinStationName), info.State,
                   utf16(info.UserName), utf16(info.Domain), idle)


# -- the state mapping --------------------------------------------------------

# Sessions in which a user may be: the rest are listeners and the
# services' session 0.
_USER_STATES = (WTS_ACTIVE, WTS_CONNECTED, WTS_DISCONNECTED, WTS_SHADOW,
                WTS_CONNECT_QUERY, WTS_IDLE)


def _is_rdp(session):
    return session.station.upper().startswith("RDP-TCP#")


def user_session(sessions):
    """The session the desktop's user works in, or None.

    A session with a logged-on user: the active one first (a user at the
    console or over RDP), then a disconnected one (the user's viewer
    went away; Windows keeps the session). Without a user: an RDP
    session that is connected (the logon screen over RDP).
    """
    def rank(session):
        if session.id == 0 or session.state not in _USER_STATES:
            return None
        if session.user:
            if session.state == WTS_ACTIVE:
                return 0
            if session.state == WTS_DISCONNECTED:
                return 2
            return 1
        if _is_rdp(session) and session.state in (WTS_ACTIVE,
                                                  WTS_CONNECTED):
            return 3
        return None

    ranked = [(rank(s), s.id, s) for s in sessions]
    ranked = [r for r in ranked if r[0] is not None]
    return min(ranked)[2] if ranked else None


def connection_state(session):
    """The report's connection_state for the user's session.

    Active or connected (the viewer shows the session: RDP, or SPICE on
    the console): "connected"; disconnected, or no session at all:
    "disconnected"; a state in between (shadowed, being set up): None.
    """
    if session is None or session.state == WTS_DISCONNECTED:
        return "disconnected"
    if session.state in (WTS_ACTIVE, WTS_CONNECTED):
        return "connected"
    return None


def display_state(sessions):
    """"running" when the remote display service takes connections.

    That is the RDP listener's WinStation in the listen state, or an RDP
    session that is connected; else "stopped" (Remote Desktop off, or
    the TermService service stopped: it lists no listener).
    """
    for session in sessions:
        if session.state == WTS_LISTEN:
            return "running"
        if _is_rdp(session) and session.state in (WTS_ACTIVE,
                                                  WTS_CONNECTED):
            return "running"
    return "stopped"


def memory_percent(status):
    """Memory in use (percent) from a ``MEMORYSTATUSEX``."""
    if not status.ullTotalPhys:
        return None
    used = status.ullTotalPhys - status.ullAvailPhys
    return round(100.0 * used / status.ullTotalPhys, 1)


# -- the calls ----------------------------------------------------------------

class Win32:
    """The Win32 calls of the probes; ``dlls``: for the tests.

    Without ``dlls`` it loads wtsapi32, kernel32 and user32 with
    ``ctypes.WinDLL``, which exists on Windows only (AttributeError
    elsewhere).
    """

    def __init__(self, dlls=None):
        if dlls is None:
            dlls = {name: ctypes.WinDLL(name, use_last_error=True)
                    for name in ("wtsapi32", "kernel32", "user32")}
            _declare(dlls)
        self.wtsapi32 = dlls["wtsapi32"]
        self.kernel32 = dlls["kernel32"]
        self.user32 = dlls["user32"]

    def sessions(self):
        """[(session id, WinStation name, state)], or None on failure."""
        pointer = ctypes.POINTER(WTS_SESSION_INFOW)()
        count = DWORD(0)
        if not self.wtsapi32.WTSEnumerateSessionsW(
                WTS_CURRENT_SERVER_HANDLE, 0, 1, ctypes.pointer(pointer),
                ctypes.pointer(count)):
            LOG.warning("WTSEnumerateSessionsW failed (error %d)",
                        _last_error())
            return None
        try:
            return [(pointer[i].SessionId,
                     utf16_at(pointer[i].pWinStationName),
                     pointer[i].State) for i in range(count.value)]
        finally:
            self.wtsapi32.WTSFreeMemory(pointer)

    def session_info(self, session_id):
        """The session's ``WTSINFOW`` (a copy), or None."""
        buffer = ctypes.c_void_p()
        size = DWORD(0)
        if not self.wtsapi32.WTSQuerySessionInformationW(
                WTS_CURRENT_SERVER_HANDLE, session_id,
                WTS_SESSION_INFO_CLASS, ctypes.pointer(buffer),
                ctypes.pointer(size)):
            # The session may have ended since the enumeration.
            LOG.debug("WTSQuerySessionInformationW(%d) failed (error %d)",
                      session_id, _last_error())
            return None
        try:
            if not buffer.value or size.value < ctypes.sizeof(WTSINFOW):
                return None
            return WTSINFOW.from_buffer_copy(ctypes.string_at(
                buffer.value, ctypes.sizeof(WTSINFOW)))
        finally:
            self.wtsapi32.WTSFreeMemory(buffer)

    def idle_here(self):
        """Seconds since the last input in the agent's own session."""
        info = LASTINPUTINFO(cbSize=ctypes.sizeof(LASTINPUTINFO))
        if not self.user32.GetLastInputInfo(ctypes.pointer(info)):
            return None
        # Both in milliseconds since the boot, wrapping at 2**32.
        now = self.kernel32.GetTickCount() & 0xFFFFFFFF
        return ((now - info.dwTime) & 0xFFFFFFFF) // 1000

    def current_session_id(self):
        """The session the agent's own process runs in, or None."""
        session_id = DWORD(0)
        if not self.kernel32.ProcessIdToSessionId(
                self.kernel32.GetCurrentProcessId(),
                ctypes.pointer(session_id)):
            return None
        return session_id.value

    def memory_status(self):
        status = MEMORYSTATUSEX(dwLength=ctypes.sizeof(MEMORYSTATUSEX))
        if not self.kernel32.GlobalMemoryStatusEx(ctypes.pointer(status)):
            return None
        return status

    def disk_free_bytes(self, path):
        """Bytes free to the agent's user on ``path``'s volume, or None."""
        free = ULARGE_INTEGER(0)
        total = ULARGE_INTEGER(0)
        total_free = ULARGE_INTEGER(0)
        if not self.kernel32.GetDiskFreeSpaceExW(
                path, ctypes.pointer(free), ctypes.pointer(total),
                ctypes.pointer(total_free)):
            return None
        return free.value

    def system_times(self):
        """(idle, kernel, user) 100 ns ticks of all CPUs, or None."""
        idle, kernel, user = FILETIME(), FILETIME(), FILETIME()
        if not self.kernel32.GetSystemTimes(
                ctypes.pointer(idle), ctypes.pointer(kernel),
                ctypes.pointer(user)):
            return None
        return idle.value, kernel.value, user.value


def _declare(dlls):
    """The prototypes, so that ctypes converts and checks the arguments."""
    p = ctypes.POINTER
    wts, k32, u32 = dlls["wtsapi32"], dlls["kernel32"], dlls["user32"]
    wts.WTSEnumerateSessionsW.argtypes = [
        ctypes.c_void_p, DWORD, DWORD, p(p(WTS_SESSION_INFOW)), p(DWORD)]
    wts.WTSEnumerateSessionsW.restype = ctypes.c_int
    wts.WTSQuerySessionInformationW.argtypes = [
        ctypes.c_void_p, DWORD, ctypes.c_int, p(ctypes.c_void_p), p(DWORD)]
    wts.WTSQuerySessionInformationW.restype = ctypes.c_int
    wts.WTSFreeMemory.argtypes = [ctypes.c_void_p]
    wts.WTSFreeMemory.restype = None
    u32.GetLastInputInfo.argtypes = [p(LASTINPUTINFO)]
    u32.GetLastInputInfo.restype = ctypes.c_int
    k32.GetTickCount.argtypes = []
    k32.GetTickCount.restype = DWORD
    k32.GetCurrentProcessId.argtypes = []
    k32.GetCurrentProcessId.restype = DWORD
    k32.ProcessIdToSessionId.argtypes = [DWORD, p(DWORD)]
    k32.ProcessIdToSessionId.restype = ctypes.c_int
    k32.GlobalMemoryStatusEx.argtypes = [p(MEMORYSTATUSEX)]
    k32.GlobalMemoryStatusEx.restype = ctypes.c_int
    k32.GetDiskFreeSpaceExW.argtypes = [
        ctypes.c_wchar_p, p(ULARGE_INTEGER), p(ULARGE_INTEGER),
        p(ULARGE_INTEGER)]
    k32.GetDiskFreeSpaceExW.restype = ctypes.c_int
    k32.GetSystemTimes.argtypes = [p(FILETIME), p(FILETIME), p(FILETIME)]
    k32.GetSystemTimes.restype = ctypes.c_int


# -- the report ---------------------------------------------------------------

class WindowsProbes:
    """A report's fields on Windows; ``win32``: a :class:`Win32`."""

    def __init__(self, win32=None, system_drive="C:\\"):
        self.win32 = win32 if win32 is not None else Win32()
        self.system_drive = system_drive
        self._last_times = None

    def sessions(self):
        listed = self.win32.sessions()
        if listed is None:
            return None
        sessions = []
        for session_id, station, state in listed:
            session = Session(session_id, station, state)
            if session_id != 0 and state in _USER_STATES:
                info = self.win32.session_info(session_id)
                if info is not None:
                    session = session_from_info(info)
                    # The enumeration's name: WTSINFOW's may be empty
                    # for a disconnected session.
                    session.station = station or session.station
            sessions.append(session)
        return sessions

    def cpu_percent(self):
        times = self.win32.system_times()
        last, self._last_times = self._last_times, times
        if times is None or last is None:
            return None
        idle = times[0] - last[0]
        # Kernel time includes the idle time.
        total = (times[1] - last[1]) + (times[2] - last[2])
        if total <= 0:
            return None
        return round(100.0 * (total - idle) / total, 1)

    def disk_free_mb(self):
        free = self.win32.disk_free_bytes(self.system_drive)
        return None if free is None else free // (1024 * 1024)

    def probe(self):
        sessions = self.sessions()
        if sessions is None:
            display = connection = username = idle = None
        else:
            session = user_session(sessions)
            display = display_state(sessions)
            connection = connection_state(session)
            username = (session.user or None) if session else None
            idle = session.idle if session and session.user else None
            if username and idle is None and \
                    self.win32.current_session_id() == session.id:
                # No input time in WTSINFOW: GetLastInputInfo, right only
                # when the agent runs in that session (not as a service).
                idle = self.win32.idle_here()
        status = self.win32.memory_status()
        return {"display": display, "connection_state": connection,
                "username": username,
                "idle_seconds": None if idle is None else min(
                    int(idle), 31536000),
                "cpu_percent": self.cpu_percent(),
                "memory_percent": (memory_percent(status)
                                   if status is not None else None),
                "disk_free_mb": self.disk_free_mb()}
