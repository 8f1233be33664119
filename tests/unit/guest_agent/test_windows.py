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

"""The guest agent's Windows probes, with fake DLLs (no Windows here).

The fakes answer like the documented Win32 functions: they write the
structures through the pointers the probes pass, and the buffers they
hand out must be given back to WTSFreeMemory. What is tested is the
structures' layout (Windows' own, whatever platform runs the tests),
their decoding, and the mapping of sessions to a report.
"""

import ctypes
import types

import testtools

from vdi_broker.guest_agent import host
from vdi_broker.guest_agent import windows as w

# 2026-12-03 10:00:00 UTC as a FILETIME (100 ns since 1601).
NOW = 134092476000000000


def utf16_buffer(text):
    data = text.encode("utf-16-le") + b"\0\0"
    return (ctypes.c_uint16 * (len(data) // 2)).from_buffer_copy(data)


def set_wchars(array, text):
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        array[i // 2] = int.from_bytes(data[i:i + 2], "little")


def wtsinfo(session_id, state, station="", user="", domain="",
            idle=None):
    info = w.WTSINFOW(State=state, SessionId=session_id)
    set_wchars(info.WinStationName, station)
    set_wchars(info.UserName, user)
    set_wchars(info.Domain, domain)
    info.CurrentTime = NOW
    if idle is not None:
        info.LastInputTime = NOW - idle * w.TICKS_PER_SECOND
    return info


class FakeWindows:
    """wtsapi32, kernel32 and user32 as the probes call them."""

    def __init__(self, sessions, own_session=0, last_input_ms=None,
                 tick_ms=100000, memory=(8 << 30, 2 << 30),
                 disk_free=(50 << 30), times=None, fail=()):
        # sessions: [(id, station, state, WTSINFOW or None)]
        self.session_table = sessions
        self.own_session = own_session
        self.last_input_ms = last_input_ms
        self.tick_ms = tick_ms
        self.memory = memory
        self.disk_free = disk_free
        self.times = list(times or [])
        self.fail = set(fail)
        self.handed_out = set()
        self.freed = []
        self.keep = []
        self.disk_paths = []

    def dlls(self):
        def ns(*names):
            return types.SimpleNamespace(**{n: getattr(self, n)
                                            for n in names})
        return {"wtsapi32": ns("WTSEnumerateSessionsW",
                               "WTSQuerySessionInformationW",
                               "WTSFreeMemory"),
                "kernel32": ns("GetTickCount", "GetCurrentProcessId",
                               "ProcessIdToSessionId",
                               "GlobalMemoryStatusEx",
                               "GetDiskFreeSpaceExW", "GetSystemTimes"),
                "user32": ns("GetLastInputInfo")}

    def _address(self, obj):
        self.keep.append(obj)
        address = ctypes.addressof(obj)
        self.handed_out.add(address)
        return address

    # wtsapi32
    def WTSEnumerateSessionsW(self, server, reserved, version, pp, count):
        assert (server, reserved, version) == (None, 0, 1)
        if "enumerate" in self.fail:
            return 0
        array = (w.WTS_SESSION_INFOW * len(self.session_table))()
        for i, (sid, station, state, _info) in enumerate(
                self.session_table):
            name = utf16_buffer(station)
            self.keep.append(name)
            array[i].SessionId = sid
            array[i].pWinStationName = ctypes.addressof(name)
            array[i].State = state
        pp[0] = ctypes.cast(ctypes.c_void_p(self._address(array)),
                            ctypes.POINTER(w.WTS_SESSION_INFOW))
        count[0] = len(self.session_table)
        return 1

    def WTSQuerySessionInformationW(self, server, sid, cls, pbuffer, psize):
        assert cls == w.WTS_SESSION_INFO_CLASS
        for table_id, _station, _state, info in self.session_table:
            if table_id == sid and info is not None:
                pbuffer[0] = self._address(info)
                psize[0] = ctypes.sizeof(info)
                return 1
        return 0

    def WTSFreeMemory(self, memory):
        address = ctypes.cast(memory, ctypes.c_void_p).value
        assert address in self.handed_out, address
        self.freed.append(address)

    # kernel32
    def GetTickCount(self):
        return self.tick_ms

    def GetCurrentProcessId(self):
        return 4242

    def ProcessIdToSessionId(self, pid, psession):
        assert pid == 4242
        psession[0] = self.own_session
        return 1

    def GlobalMemoryStatusEx(self, pstatus):
        status = pstatus.contents
        assert status.dwLength == 64
        if self.memory is None:
            return 0
        status.ullTotalPhys, status.ullAvailPhys = self.memory
        return 1

    def GetDiskFreeSpaceExW(self, path, free, total, total_free):
        self.disk_paths.append(path)
        if self.disk_free is None:
            return 0
        free[0] = self.disk_free
        total[0] = 100 << 30
        total_free[0] = self.disk_free + 1
        return 1

    def GetSystemTimes(self, idle, kernel, user):
        if not self.times:
            return 0
        for pointer, value in zip((idle, kernel, user), self.times.pop(0)):
            pointer.contents.dwLowDateTime = value & 0xFFFFFFFF
            pointer.contents.dwHighDateTime = value >> 32
        return 1

    # user32
    def GetLastInputInfo(self, pinfo):
        assert pinfo.contents.cbSize == 8
        if self.last_input_ms is None:
            return 0
        pinfo.contents.dwTime = self.last_input_ms
        return 1


LISTENER = (65536, "RDP-Tcp", w.WTS_LISTEN, None)
SERVICES = (0, "Services", w.WTS_DISCONNECTED, None)


def console(state=w.WTS_CONNECTED, user="", idle=None, sid=1):
    return (sid, "Console", state,
            wtsinfo(sid, state, "Console", user, "CORP", idle))


def rdp(sid, state, user="", idle=None):
    station = "RDP-Tcp#%d" % sid
    # A disconnected session's WTSINFOW has no WinStation name.
    return (sid, station, state,
            wtsinfo(sid, state, "" if state == w.WTS_DISCONNECTED
                    else station, user, "CORP", idle))


def probe(sessions, **kw):
    fake = FakeWindows(sessions, **kw)
    report = w.WindowsProbes(w.Win32(fake.dlls())).probe()
    # Every buffer the system handed out was freed.
    if "enumerate" not in fake.fail:
        assert sorted(fake.handed_out) == sorted(fake.freed), fake.freed
    return report, fake


class TestLayout(testtools.TestCase):
    """The structures as wtsapi32.h and winbase.h lay them out."""

    def test_wtsinfow(self):
        self.assertEqual(216, ctypes.sizeof(w.WTSINFOW))
        offsets = {name: getattr(w.WTSINFOW, name).offset for name in (
            "SessionId", "WinStationName", "Domain", "UserName",
            "ConnectTime", "LastInputTime", "CurrentTime")}
        self.assertEqual({"SessionId": 4, "WinStationName": 32,
                          "Domain": 96, "UserName": 130,
                          "ConnectTime": 176, "LastInputTime": 192,
                          "CurrentTime": 208}, offsets)

    def test_small_structures(self):
        self.assertEqual((64, 8, 8), (ctypes.sizeof(w.MEMORYSTATUSEX),
                                      ctypes.sizeof(w.LASTINPUTINFO),
                                      ctypes.sizeof(w.FILETIME)))
        pointer = ctypes.sizeof(ctypes.c_void_p)
        self.assertEqual(pointer, w.WTS_SESSION_INFOW.pWinStationName.offset)
        self.assertEqual(3 * pointer, ctypes.sizeof(w.WTS_SESSION_INFOW))

    def test_utf16(self):
        name = utf16_buffer("张伟")
        self.assertEqual("张伟", w.utf16_at(ctypes.addressof(name)))
        self.assertEqual("", w.utf16_at(None))
        info = wtsinfo(3, w.WTS_ACTIVE, "RDP-Tcp#3", "amy.wong", "CORP")
        self.assertEqual(("amy.wong", "CORP", "RDP-Tcp#3"),
                         (w.utf16(info.UserName), w.utf16(info.Domain),
                          w.utf16(info.WinStationName)))
        # A 20-character name fills USERNAME_LENGTH; the NUL follows.
        info = wtsinfo(3, w.WTS_ACTIVE, user="a" * 20)
        self.assertEqual("a" * 20, w.utf16(info.UserName))

    def test_filetime_value(self):
        ft = w.FILETIME(dwLowDateTime=0x89ABCDEF, dwHighDateTime=0x01234567)
        self.assertEqual(0x0123456789ABCDEF, ft.value)


class TestReport(testtools.TestCase):

    def test_rdp_user_connected(self):
        report, _fake = probe([SERVICES, console(), LISTENER,
                               rdp(2, w.WTS_ACTIVE, "amy", idle=75)])
        self.assertEqual(
            {"display": "running", "connection_state": "connected",
             "username": "amy", "idle_seconds": 75, "cpu_percent": None,
             "memory_percent": 75.0, "disk_free_mb": 51200}, report)

    def test_rdp_user_disconnected(self):
        report, _fake = probe([SERVICES, console(), LISTENER,
                               rdp(2, w.WTS_DISCONNECTED, "amy", idle=900)])
        self.assertEqual(("running", "disconnected", "amy", 900),
                         (report["display"], report["connection_state"],
                          report["username"], report["idle_seconds"]))

    def test_an_active_session_wins_over_a_disconnected_one(self):
        report, _fake = probe([SERVICES, LISTENER,
                               rdp(2, w.WTS_DISCONNECTED, "sam", idle=5),
                               rdp(3, w.WTS_ACTIVE, "amy", idle=7)])
        self.assertEqual(("connected", "amy", 7),
                         (report["connection_state"], report["username"],
                          report["idle_seconds"]))

    def test_console_user_without_rdp(self):
        # A SPICE desktop: the user works on the console, and Remote
        # Desktop is off (no listener).
        report, _fake = probe([SERVICES,
                               console(w.WTS_ACTIVE, "amy", idle=3)])
        self.assertEqual(("stopped", "connected", "amy", 3),
                         (report["display"], report["connection_state"],
                          report["username"], report["idle_seconds"]))

    def test_logon_screen_over_rdp(self):
        report, _fake = probe([SERVICES, console(), LISTENER,
                               rdp(2, w.WTS_CONNECTED)])
        self.assertEqual(("running", "connected", None, None),
                         (report["display"], report["connection_state"],
                          report["username"], report["idle_seconds"]))

    def test_nobody(self):
        report, _fake = probe([SERVICES, console(), LISTENER])
        self.assertEqual(("running", "disconnected", None, None),
                         (report["display"], report["connection_state"],
                          report["username"], report["idle_seconds"]))

    def test_a_session_that_ended_since_the_enumeration(self):
        # WTSQuerySessionInformationW fails for it: it has no user.
        report, _fake = probe([SERVICES, LISTENER,
                               (2, "RDP-Tcp#2", w.WTS_ACTIVE, None)])
        self.assertEqual(("connected", None),
                         (report["connection_state"], report["username"]))

    def test_enumeration_failure(self):
        report, _fake = probe([], fail={"enumerate"})
        self.assertEqual((None, None, None, None),
                         (report["display"], report["connection_state"],
                          report["username"], report["idle_seconds"]))
        # The rest is still reported.
        self.assertEqual(51200, report["disk_free_mb"])

    def test_idle_from_getlastinputinfo_only_in_the_user_s_session(self):
        sessions = [SERVICES, LISTENER, console(w.WTS_ACTIVE, "amy")]
        # The agent runs as a service (session 0): GetLastInputInfo would
        # be session 0's, so no idle time.
        report, _fake = probe(sessions, own_session=0,
                              last_input_ms=40000, tick_ms=100000)
        self.assertIsNone(report["idle_seconds"])
        # In the user's session: 60 s since the last input.
        report, _fake = probe(sessions, own_session=1,
                              last_input_ms=40000, tick_ms=100000)
        self.assertEqual(60, report["idle_seconds"])
        # GetTickCount wrapped around after 49.7 days.
        report, _fake = probe(sessions, own_session=1,
                              last_input_ms=0xFFFFFFFF - 4999,
                              tick_ms=5000)
        self.assertEqual(10, report["idle_seconds"])

    def test_memory_disk_and_cpu(self):
        fake = FakeWindows([SERVICES],
                           times=[(100, 400, 200), (160, 500, 300)],
                           disk_free=(3 << 20) + 5)
        probes = w.WindowsProbes(w.Win32(fake.dlls()), system_drive="D:\\")
        self.assertIsNone(probes.probe()["cpu_percent"])
        report = probes.probe()
        # 200 ticks of kernel+user, 60 of them idle.
        self.assertEqual(70.0, report["cpu_percent"])
        self.assertEqual(3, report["disk_free_mb"])
        self.assertEqual(["D:\\", "D:\\"], fake.disk_paths)
        fake.memory = None
        fake.disk_free = None
        report = probes.probe()
        self.assertEqual((None, None, None),
                         (report["memory_percent"], report["disk_free_mb"],
                          report["cpu_percent"]))


class TestStateMapping(testtools.TestCase):

    def test_connection_states(self):
        session = w.Session(2, "RDP-Tcp#2", w.WTS_ACTIVE, "amy")
        for state, expected in ((w.WTS_ACTIVE, "connected"),
                                (w.WTS_CONNECTED, "connected"),
                                (w.WTS_DISCONNECTED, "disconnected"),
                                (w.WTS_SHADOW, None),
                                (w.WTS_CONNECT_QUERY, None)):
            session.state = state
            self.assertEqual(expected, w.connection_state(session), state)
        self.assertEqual("disconnected", w.connection_state(None))

    def test_listeners_and_session_0_are_nobody_s(self):
        self.assertIsNone(w.user_session([
            w.Session(0, "Services", w.WTS_DISCONNECTED, "SYSTEM"),
            w.Session(65536, "RDP-Tcp", w.WTS_LISTEN)]))

    def test_display(self):
        self.assertEqual("stopped", w.display_state([]))
        self.assertEqual("running", w.display_state(
            [w.Session(2, "rdp-tcp#2", w.WTS_ACTIVE, "amy")]))
        self.assertEqual("stopped", w.display_state(
            [w.Session(1, "Console", w.WTS_ACTIVE, "amy")]))


class TestHost(testtools.TestCase):

    def test_linux_never_loads_the_dlls(self):
        # ctypes.WinDLL does not exist here: the stub's fields.
        probe = host.Host(platform="win32").probe()
        self.assertEqual((None, None), (probe["connection_state"],
                                        probe["username"]))
        self.assertIn("disk_free_mb", probe)

    def test_windows_uses_the_windows_probes(self):
        agent_host = host.Host(platform="win32")
        fake = FakeWindows([SERVICES, LISTENER,
                            rdp(2, w.WTS_ACTIVE, "amy", idle=1)])
        agent_host._windows = w.WindowsProbes(w.Win32(fake.dlls()))
        self.assertEqual(("connected", "amy"), (
            agent_host.probe()["connection_state"],
            agent_host.probe()["username"]))
