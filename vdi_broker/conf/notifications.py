# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

from oslo_config import cfg

notifications_group = cfg.OptGroup(
    "notifications", title="Notifications",
    help="oslo.messaging notifications of sessions, desktops, pools and "
         "alerts, with versioned payloads (see the monitoring guide). "
         "Off by default.")

notifications_opts = [
    cfg.StrOpt("driver", default="noop",
               help="The oslo.messaging notification driver: noop (none "
                    "are sent, the default), messagingv2 (the message "
                    "bus), log (the service's log), routing (several, "
                    "by event type: oslo.messaging's routing_config)."),
    cfg.ListOpt("topics", default=["vdi_broker_notifications"],
                help="Topics the notifications are sent to (with "
                     "messagingv2 each topic's queue is "
                     "<topic>.<priority>, e.g. "
                     "vdi_broker_notifications.info). Their own topic: "
                     "consumers of Nova's or Keystone's notifications do "
                     "not receive them."),
    cfg.StrOpt("transport_url", secret=True,
               help="The message bus for notifications. Unset: "
                    "[oslo_messaging_notifications] transport_url, else "
                    "[DEFAULT] transport_url."),
    cfg.IntOpt("retry", default=0, min=-1,
               help="Reconnection attempts when the bus cannot take a "
                    "notification (-1: forever). Notifications are sent "
                    "by a background thread, never by the request that "
                    "caused them, so a slow or absent bus delays no "
                    "login."),
    cfg.IntOpt("queue_size", default=10000, min=1,
               help="Notifications waiting for the background sender at "
                    "most; beyond it new ones are dropped and counted "
                    "(vdi_notifications_total{result=\"dropped\"})."),
]


def register_opts(conf):
    conf.register_group(notifications_group)
    conf.register_opts(notifications_opts, group=notifications_group)


def list_opts():
    return {notifications_group: notifications_opts}
