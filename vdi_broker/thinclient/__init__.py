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

"""vdi-broker-tc: the reference thin-client program (R2, R7, R15).

A full-screen Tk login window for a Linux thin client: it logs the agent
in over the thin-client API (``/v1/client/*``), opens the desktop in
``remote-viewer`` (SPICE) or ``xfreerdp`` (RDP), sends heartbeats with the
input activity it counts, reports a desktop that does not work and
follows the session to another desktop. It keeps no user data: the
session token lives in memory, and the console file reaches the viewer
through a pipe.

Modules, one purpose each: :mod:`config` (the INI file), :mod:`api`
(HTTP), :mod:`answers` (what each API answer means to the agent),
:mod:`i18n` (Chinese and English), :mod:`faults` (when a viewer failure
becomes a fault report), :mod:`activity` (X11 input events),
:mod:`viewer` (the viewer process), :mod:`heartbeat`, :mod:`session` (one
logged-in session, without a UI), :mod:`window` (the Tk window) and
:mod:`main` (the program).
"""
