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

"""Count the agent's keyboard and mouse input on the X display (R15).

The thin client listens to XInput2 *raw* events on the root window, on a
connection of its own to the X server (libX11 and libXi through ctypes):
raw events reach every client that asks for them, whichever window has
the focus, so the keys and clicks that go to the full-screen viewer are
counted too. Nothing about the input is kept but the count: key presses,
button presses, and pointer motion at most once per ``MOTION_EVERY``
seconds (a moving mouse sends a hundred events a second).

This works the same under Xvfb (the tests drive it with xdotool, whose
XTEST events are raw events too) as on a real display. Without a display
or without XInput 2 the counter is unavailable and the heartbeats carry
no count (the broker's ``input_events`` stays empty rather than zero).
"""

import ctypes
import ctypes.util
import logging
import os
import select
import threading
import time

LOG = logging.getLogger(__name__)

# X11 and XInput 2 constants (X11/X.h, X11/extensions/XI2.h).
GENERIC_EVENT = 35
XI_ALL_MASTER_DEVICES = 1
XI_RAW_KEY_PRESS = 13
XI_RAW_BUTTON_PRESS = 15
XI_RAW_MOTION = 17
MOTION_EVERY = 0.5


class _XIEventMask(ctypes.Structure):
    _fields_ = [("deviceid", ctypes.c_int), ("mask_len", ctypes.c_int),
                ("mask", ctypes.POINTER(ctypes.c_ubyte))]


class _XGenericEventCookie(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                ("extension", ctypes.c_int), ("evtype", ctypes.c_int),
                ("cookie", ctypes.c_uint), ("data", ctypes.c_void_p)]


class _XEvent(ctypes.Union):
    # XEvent is a union padded to 24 longs.
    _fields_ = [("type", ctypes.c_int), ("cookie", _XGenericEventCookie),
                ("pad", ctypes.c_long * 24)]


class Unavailable(Exception):
    """No display, no libX11/libXi, or no XInput 2."""


def _libraries():
    names = {}
    for lib in ("X11", "Xi"):
        path = ctypes.util.find_library(lib)
        if not path:
            raise Unavailable("lib%s is not installed" % lib)
        names[lib] = ctypes.CDLL(path)
    x11, xi = names["X11"], names["Xi"]
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XQueryExtension.argtypes = [ctypes.c_void_p, ctypes.c_char_p] + \
        [ctypes.POINTER(ctypes.c_int)] * 3
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XConnectionNumber.argtypes = [ctypes.c_void_p]
    x11.XPending.argtypes = [ctypes.c_void_p]
    x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(_XEvent)]
    xi.XIQueryVersion.argtypes = [ctypes.c_void_p,
                                  ctypes.POINTER(ctypes.c_int),
                                  ctypes.POINTER(ctypes.c_int)]
    xi.XISelectEvents.argtypes = [ctypes.c_void_p, ctypes.c_ulong,
                                  ctypes.POINTER(_XIEventMask), ctypes.c_int]
    return x11, xi


class InputCounter:
    """Counts input events in a thread; :meth:`take` reads and resets."""

    def __init__(self, display=None):
        self.display_name = display or os.environ.get("DISPLAY")
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._display = None
        self.available = False

    def start(self):
        """Open the display and start counting; False if unavailable."""
        try:
            self._open()
        except Unavailable as e:
            LOG.warning("Input activity cannot be measured: %s", e)
            return False
        self.available = True
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="vdi-tc-input")
        self._thread.start()
        return True

    def _open(self):
        if not self.display_name:
            raise Unavailable("no DISPLAY")
        self._x11, self._xi = _libraries()
        display = self._x11.XOpenDisplay(self.display_name.encode())
        if not display:
            raise Unavailable("cannot open display %s" % self.display_name)
        opcode, event, error = (ctypes.c_int(), ctypes.c_int(),
                                ctypes.c_int())
        if not self._x11.XQueryExtension(display, b"XInputExtension",
                                         ctypes.byref(opcode),
                                         ctypes.byref(event),
                                         ctypes.byref(error)):
            self._x11.XCloseDisplay(display)
            raise Unavailable("the X server has no XInput extension")
        major, minor = ctypes.c_int(2), ctypes.c_int(0)
        if self._xi.XIQueryVersion(display, ctypes.byref(major),
                                   ctypes.byref(minor)) != 0:
            self._x11.XCloseDisplay(display)
            raise Unavailable("the X server has no XInput 2")
        mask = (ctypes.c_ubyte * 4)()
        for evtype in (XI_RAW_KEY_PRESS, XI_RAW_BUTTON_PRESS, XI_RAW_MOTION):
            mask[evtype >> 3] |= 1 << (evtype & 7)
        event_mask = _XIEventMask(XI_ALL_MASTER_DEVICES, len(mask),
                                  ctypes.cast(mask, ctypes.POINTER(
                                      ctypes.c_ubyte)))
        self._xi.XISelectEvents(display,
                                self._x11.XDefaultRootWindow(display),
                                ctypes.byref(event_mask), 1)
        self._x11.XFlush(display)
        self._display = display
        self._opcode = opcode.value

    def _run(self):
        x11 = self._x11
        fd = x11.XConnectionNumber(self._display)
        event = _XEvent()
        last_motion = 0.0
        try:
            while not self._stop.is_set():
                readable, _w, _x = select.select([fd], [], [], 0.5)
                while x11.XPending(self._display):
                    x11.XNextEvent(self._display, ctypes.byref(event))
                    if event.type != GENERIC_EVENT or \
                            event.cookie.extension != self._opcode:
                        continue
                    evtype = event.cookie.evtype
                    if evtype == XI_RAW_MOTION:
                        now = time.monotonic()
                        if now - last_motion < MOTION_EVERY:
                            continue
                        last_motion = now
                    elif evtype not in (XI_RAW_KEY_PRESS,
                                        XI_RAW_BUTTON_PRESS):
                        continue
                    with self._lock:
                        self._count += 1
        except (OSError, ValueError) as e:
            # The X server went away (the session is ending).
            LOG.warning("Stopped counting input: %s", e)
            self.available = False
        finally:
            x11.XCloseDisplay(self._display)
            self._display = None

    def take(self):
        """Events since the last call, or None when not measured."""
        if not self.available:
            return None
        with self._lock:
            count, self._count = self._count, 0
        return count

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
