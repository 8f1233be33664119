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

"""The full-screen login window (Tk).

Tk is the toolkit: it ships with Python (Debian ``python3-tk``), needs
no browser and no session bus, and runs without a window manager (the
window sizes itself to the screen; with a window manager it also asks
for full screen).

Every method but :meth:`LoginWindow.run` may be called from any thread:
it queues the change for the Tk thread, which applies the queue every
:data:`POLL_MS` milliseconds. Each state the window shows is logged
("Showing <key>"), which is what the tests wait for.
"""

import logging
import queue
import tkinter
from tkinter import font as tkfont

from vdi_broker.thinclient import answers

LOG = logging.getLogger(__name__)

POLL_MS = 100
TITLE = "vdi-broker-tc"
BACKGROUND = "#1d2b3a"
CARD = "#ffffff"
MUTED = "#b8c4d0"
COLOURS = {answers.ERROR: "#b00020", answers.WARNING: "#8a5300",
           answers.INFO: "#1f4e79"}


class LoginWindow:

    def __init__(self, root, config, translations):
        self.root = root
        self.config = config
        self.tr = translations
        self.on_login = None
        self.on_close = None
        self._queue = queue.SimpleQueue()
        self._countdown = None
        self._answer = None
        self._online = None
        self._build()

    # -- layout --------------------------------------------------------------

    def _t(self, label, **params):
        return self.tr.gettext(answers.LABELS[label]).format(**params)

    def _build(self):
        root = self.root
        root.title(TITLE)
        root.configure(background=BACKGROUND)
        width, height = root.winfo_screenwidth(), root.winfo_screenheight()
        if self.config.fullscreen:
            root.geometry("%dx%d+0+0" % (width, height))
            root.attributes("-fullscreen", True)
        else:
            root.geometry("800x600")
        root.protocol("WM_DELETE_WINDOW", lambda: None)
        family = tkfont.nametofont("TkDefaultFont").actual("family")
        big = tkfont.Font(family=family, size=24, weight="bold")
        normal = tkfont.Font(family=family, size=14)
        small = tkfont.Font(family=family, size=11)

        card = tkinter.Frame(root, background=CARD, padx=48, pady=36)
        card.place(relx=0.5, rely=0.45, anchor="center")
        tkinter.Label(card, text=self._t("title"), font=big,
                      background=CARD).grid(row=0, column=0, columnspan=2,
                                            pady=(0, 24))
        self.username = tkinter.StringVar(root)
        self.password = tkinter.StringVar(root)
        tkinter.Label(card, text=self._t("username"), font=normal,
                      background=CARD).grid(row=1, column=0, sticky="w",
                                            padx=(0, 16), pady=6)
        self.username_entry = tkinter.Entry(card, textvariable=self.username,
                                            font=normal, width=24)
        self.username_entry.grid(row=1, column=1, pady=6)
        tkinter.Label(card, text=self._t("password"), font=normal,
                      background=CARD).grid(row=2, column=0, sticky="w",
                                            padx=(0, 16), pady=6)
        self.password_entry = tkinter.Entry(card, textvariable=self.password,
                                            font=normal, width=24,
                                            show="\u2022")
        self.password_entry.grid(row=2, column=1, pady=6)
        self.button = tkinter.Button(card, text=self._t("login"),
                                     font=normal, width=16,
                                     command=self._submit)
        self.button.grid(row=3, column=0, columnspan=2, pady=(20, 8))
        self.message = tkinter.Label(card, text="", font=normal,
                                     background=CARD, wraplength=440,
                                     justify="center", height=3)
        self.message.grid(row=4, column=0, columnspan=2, sticky="we")

        footer = self._t("client", client=self.config.client_id)
        if self.config.seat:
            footer += "  \u00b7  " + self._t("seat", seat=self.config.seat)
        self.footer = tkinter.Label(root, text=footer, font=small,
                                    background=BACKGROUND, foreground=MUTED)
        self.footer.place(relx=0.02, rely=0.97, anchor="sw")
        self.status = tkinter.Label(root, text="", font=small,
                                    background=BACKGROUND, foreground=MUTED)
        self.status.place(relx=0.98, rely=0.97, anchor="se")

        self.username_entry.bind("<Return>",
                                 lambda e: self.password_entry.focus_set())
        self.password_entry.bind("<Return>", lambda e: self._submit())

    # -- the Tk thread --------------------------------------------------------

    def run(self):
        """The Tk main loop; returns when the window is closed."""
        self.root.after(POLL_MS, self._drain)
        self.root.after_idle(self._ready)
        self.root.mainloop()

    def _ready(self):
        self._focus(self.username_entry, "login")

    def _focus(self, entry, key, tries=50):
        """Give ``entry`` the keyboard, then log that ``key`` is shown.

        The focus reaches Tk a moment after it is asked for: what is
        typed before would be lost, so "Showing" waits for it (at most a
        second).
        """
        if tries == 50:
            entry.focus_force()
        if self.root.focus_get() is entry or tries <= 0:
            LOG.info("Showing %s", key)
            return
        self.root.after(20, self._focus, entry, key, tries - 1)

    def _drain(self):
        while True:
            try:
                call, args = self._queue.get_nowait()
            except queue.Empty:
                break
            call(*args)
        self.root.after(POLL_MS, self._drain)

    def post(self, call, *args):
        """Run ``call(*args)`` in the Tk thread."""
        self._queue.put((call, args))

    def close(self):
        self.post(self.root.quit)

    def _submit(self):
        if str(self.button["state"]) == "disabled":
            return
        username = self.username.get().strip()
        password = self.password.get()
        # The password leaves the window now: the entry, its variable and
        # this frame forget it.
        self.password.set("")
        self.password_entry.delete(0, "end")
        if not username or not password:
            entry = self.password_entry if username else self.username_entry
            entry.focus_set()
            return
        if self.on_login is not None and self.on_login(username, password):
            self._set_inputs(False)
        del password

    def _set_inputs(self, enabled):
        state = "normal" if enabled else "disabled"
        for widget in (self.username_entry, self.password_entry,
                       self.button):
            widget.configure(state=state)

    def _show(self, answer, focus=None):
        """Show ``answer``; ``focus``: the entry that gets the keyboard."""
        if self._countdown is not None:
            self.root.after_cancel(self._countdown)
            self._countdown = None
        self._answer = answer
        self.message.configure(text=answer.text(self.tr),
                               foreground=COLOURS[answer.level])
        if answer.retry_after:
            self._tick(answer.retry_after)
        if focus is None:
            LOG.info("Showing %s", answer.key)
        else:
            self._focus(focus, answer.key)

    def _tick(self, remaining):
        answer = self._answer
        if remaining <= 0:
            self.message.configure(text=answer.text(self.tr, 0) + "\n" +
                                   self._t("again"))
            self._countdown = None
            return
        self.message.configure(text=answer.text(self.tr, remaining))
        self._countdown = self.root.after(1000, self._tick, remaining - 1)

    # -- thread-safe updates --------------------------------------------------

    def progress(self, answer):
        """Show a step of the login or session (inputs stay disabled)."""
        self.post(self._progress, answer)

    def _progress(self, answer):
        self._set_inputs(False)
        if answer.key != "logging_in":
            # Logged in: the user name goes from the window.
            self.username.set("")
        if self.root.state() == "withdrawn" and answer.key == "reconnecting":
            self.root.deiconify()
        self._show(answer)

    def login_failed(self, answer):
        self.post(self._login_failed, answer)

    def _login_failed(self, answer):
        self._set_inputs(True)
        self._show(answer, focus=self.password_entry)

    def viewer_connected(self):
        self.post(self._viewer_connected)

    def _viewer_connected(self):
        # The viewer has the screen.
        self.root.withdraw()
        LOG.info("Showing viewer")

    def session_ended(self, answer):
        self.post(self._session_ended, answer)

    def _session_ended(self, answer):
        self.username.set("")
        self.password.set("")
        self.root.deiconify()
        if self.config.fullscreen:
            self.root.attributes("-fullscreen", True)
        self._set_inputs(True)
        self._show(answer, focus=self.username_entry)

    def set_online(self, online):
        self.post(self._set_online, online)

    def _set_online(self, online):
        if online == self._online:
            return
        self._online = online
        self.status.configure(
            text="\u25cf " + self._t("online" if online else "offline"),
            foreground="#7fd18b" if online else "#ff8a80")
