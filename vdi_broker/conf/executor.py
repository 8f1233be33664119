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

from oslo_config import cfg

executor_group = cfg.OptGroup(
    "executor", title="Guest executor",
    help="What runs guest jobs (commands, states, files, messages, "
         "password changes) inside the desktops.")

executor_opts = [
    cfg.StrOpt("driver", default="fake",
               help="The guest executor, by its name in the "
                    "vdi_broker.executors namespace: 'salt' (salt-api, "
                    "see [salt]) or 'fake' (records and answers in memory: "
                    "the all-in-one mode and tests)."),
    cfg.IntOpt("timeout", default=300, min=1,
               help="Seconds a job's call on one batch of desktops may "
                    "take when the job sets no timeout of its own; "
                    "desktops that have not answered by then fail with "
                    "the reason."),
    cfg.IntOpt("output_limit", default=4096, min=256,
               help="Characters of a desktop's output kept with its "
                    "result (the end is cut off and marked)."),
]

fake_executor_group = cfg.OptGroup(
    "fake_executor", title="Fake guest executor",
    help="The in-memory 'fake' executor: every call succeeds but on the "
         "desktops named here.")

fake_executor_opts = [
    cfg.ListOpt("fail_targets", default=[],
                help="Desktop names or ids whose calls fail (the output "
                     "says so)."),
    cfg.ListOpt("unreachable_targets", default=[],
                help="Desktop names or ids that never answer: they fail "
                     "with a timeout, as a silent agent would."),
    cfg.FloatOpt("delay", default=0.0, min=0,
                 help="Seconds each call takes (to watch a job run)."),
]

salt_group = cfg.OptGroup(
    "salt", title="Salt executor",
    help="The 'salt' executor talks to salt-api (the rest_cherrypy "
         "netapi module) over HTTP(S), as its own Salt user.")

salt_opts = [
    cfg.URIOpt("url", schemes=["http", "https"],
               help="salt-api's base URL, e.g. https://salt.example.com:8000"
                    "."),
    cfg.StrOpt("username", help="The Salt user (external_auth)."),
    cfg.StrOpt("password", secret=True, help="Its password."),
    cfg.StrOpt("eauth", default="pam",
               help="The eauth backend the master checks the user with "
                    "(pam, ldap, file, ...)."),
    cfg.FloatOpt("timeout", default=10.0, min=0.1,
                 help="Seconds one HTTP request to salt-api may take "
                      "(connect and read)."),
    cfg.FloatOpt("poll_interval", default=1.0, min=0.05,
                 help="Seconds between two reads of a running Salt job's "
                      "results."),
    cfg.BoolOpt("verify", default=True,
                help="Check salt-api's TLS certificate."),
    cfg.StrOpt("ca_file",
               help="CA bundle for salt-api's certificate (the system's "
                    "when unset)."),
    cfg.StrOpt("minion_id_template", default="{name}",
               help="A desktop's minion id, as a Python format string "
                    "over the desktop's fields: {name}, {id}, {server_id}, "
                    "{address}, {pool_name}, {site}, and {metadata[key]} "
                    "(the pool's server metadata, which the broker sets on "
                    "every server of the pool)."),
    cfg.StrOpt("password_function", default="user.setpassword",
               help="Salt execution function of a local password change, "
                    "called with the user name and the new password "
                    "(user.setpassword on Windows minions)."),
    cfg.StrOpt("message_command", default="msg * /TIME:{seconds}",
               help="The command that shows a message to the logged-in "
                    "user; the message is added as its last argument (no "
                    "shell is involved). {seconds}: how long it stays."),
    cfg.StrOpt("recovery_state", default="vdi.recover_data",
               help="The state (sls) a data recovery job applies, with "
                    "the job's paths and destination as pillar data "
                    "(vdi_recovery:paths, vdi_recovery:destination)."),
]


def register_opts(conf):
    conf.register_group(executor_group)
    conf.register_opts(executor_opts, group=executor_group)
    conf.register_group(fake_executor_group)
    conf.register_opts(fake_executor_opts, group=fake_executor_group)
    conf.register_group(salt_group)
    conf.register_opts(salt_opts, group=salt_group)


def list_opts():
    return {executor_group: executor_opts,
            fake_executor_group: fake_executor_opts,
            salt_group: salt_opts}
