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

"""The thin client's one configuration file (INI, read with configparser).

The thin client is not a broker service: its file is not an oslo.config
file and its options are not in the broker's sample configuration. The
sample is ``etc/thinclient/vdi-broker-tc.conf``; every option is
described there and in the admin guide. Unknown sections and options are
errors (a misspelt option would otherwise be silently ignored).
"""

import configparser
import dataclasses
import socket
from urllib import parse

from vdi_broker.thinclient import i18n

DEFAULT_FILE = "/etc/vdi-broker-tc/vdi-broker-tc.conf"


class ConfigError(Exception):
    """The configuration file cannot be used; the message says why."""


@dataclasses.dataclass(frozen=True)
class Config:
    # [broker]
    broker_url: str
    ca_file: str = ""
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    # [client]
    client_id: str = ""
    seat: str = ""
    language: str = "en"
    locale_dir: str = ""
    # [viewer]
    remote_viewer: str = "remote-viewer"
    rdp_client: str = "xfreerdp"
    kiosk: bool = True
    viewer_connect_timeout: float = 20.0
    viewer_args: tuple = ()
    rdp_args: tuple = ()
    # [heartbeat]
    heartbeat_interval: float = 60.0
    heartbeat_min_interval: float = 5.0
    heartbeat_max_interval: float = 600.0
    # [session]
    poll_interval: float = 15.0
    # [faults]
    max_failures: int = 3
    failure_window: float = 300.0
    quick_exit: float = 30.0
    retry_delay: float = 2.0
    # [window]
    fullscreen: bool = True


# section -> option -> (Config field, type)
_OPTIONS = {
    "broker": {
        "url": ("broker_url", str),
        "ca_file": ("ca_file", str),
        "connect_timeout": ("connect_timeout", float),
        "read_timeout": ("read_timeout", float),
    },
    "client": {
        "client_id": ("client_id", str),
        "seat": ("seat", str),
        "language": ("language", str),
        "locale_dir": ("locale_dir", str),
    },
    "viewer": {
        "remote_viewer": ("remote_viewer", str),
        "rdp_client": ("rdp_client", str),
        "kiosk": ("kiosk", bool),
        "connect_timeout": ("viewer_connect_timeout", float),
        "extra_args": ("viewer_args", tuple),
        "rdp_extra_args": ("rdp_args", tuple),
    },
    "heartbeat": {
        "interval": ("heartbeat_interval", float),
        "min_interval": ("heartbeat_min_interval", float),
        "max_interval": ("heartbeat_max_interval", float),
    },
    "session": {
        "poll_interval": ("poll_interval", float),
    },
    "faults": {
        "max_failures": ("max_failures", int),
        "window": ("failure_window", float),
        "quick_exit": ("quick_exit", float),
        "retry_delay": ("retry_delay", float),
    },
    "window": {
        "fullscreen": ("fullscreen", bool),
    },
}

# Fields that must be above zero (max_failures at least one).
_POSITIVE = ("connect_timeout", "read_timeout", "viewer_connect_timeout",
             "heartbeat_interval", "heartbeat_min_interval",
             "heartbeat_max_interval", "poll_interval", "max_failures",
             "failure_window")


def _value(parser, section, option, kind):
    where = "[%s] %s" % (section, option)
    try:
        if kind is bool:
            return parser.getboolean(section, option)
        if kind is int:
            return parser.getint(section, option)
        if kind is float:
            return parser.getfloat(section, option)
    except ValueError as e:
        raise ConfigError("%s: %s" % (where, e)) from None
    value = parser.get(section, option).strip()
    if kind is tuple:
        return tuple(value.split())
    return value


def parse_text(text, source="<config>"):
    """A :class:`Config` from the text of a configuration file."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as e:
        raise ConfigError(str(e)) from None
    values = {}
    for section in parser.sections():
        options = _OPTIONS.get(section)
        if options is None:
            raise ConfigError("%s: unknown section [%s]" % (source, section))
        for option in parser.options(section):
            if option not in options:
                raise ConfigError("%s: unknown option %s in [%s]"
                                  % (source, option, section))
            field, kind = options[option]
            values[field] = _value(parser, section, option, kind)
    return _checked(values, source)


def _checked(values, source):
    url = values.get("broker_url", "")
    parts = parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("%s: [broker] url must be an http:// or https:// "
                          "URL, not %r" % (source, url))
    language = values.get("language", "en")
    if language not in i18n.LANGUAGES:
        raise ConfigError("%s: [client] language must be one of %s, not %r"
                          % (source, ", ".join(sorted(i18n.LANGUAGES)),
                             language))
    for field in _POSITIVE:
        if field in values and values[field] <= 0:
            raise ConfigError("%s: %s must be above 0"
                              % (source, _name(field)))
    if values.get("heartbeat_min_interval", Config.heartbeat_min_interval) \
            > values.get("heartbeat_max_interval",
                         Config.heartbeat_max_interval):
        raise ConfigError("%s: [heartbeat] min_interval must not be above "
                          "max_interval" % source)
    for field in ("quick_exit", "retry_delay"):
        if values.get(field, 0) < 0:
            raise ConfigError("%s: %s must not be negative"
                              % (source, _name(field)))
    if not values.get("client_id"):
        # The host name identifies a thin client unless the file says.
        values["client_id"] = socket.gethostname()
    return Config(**values)


def _name(field):
    for section, options in _OPTIONS.items():
        for option, (name, _kind) in options.items():
            if name == field:
                return "[%s] %s" % (section, option)
    return field


def load(path):
    """The :class:`Config` of the file at ``path``."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError("cannot read %s: %s" % (path, e.strerror)) \
            from None
    return parse_text(text, source=path)
