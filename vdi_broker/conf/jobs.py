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

jobs_group = cfg.OptGroup(
    "jobs", title="Guest jobs",
    help="Scheduled jobs on desktops, run by the conductors through the "
         "guest executor ([executor]).")

jobs_opts = [
    cfg.IntOpt("interval", default=10, min=0,
               help="Seconds between two passes of a conductor's job "
                    "runner (start due jobs, claim targets); 0 turns the "
                    "runner off in this conductor."),
    cfg.IntOpt("workers", default=4, min=1,
               help="Executor calls one conductor runs at once (each call "
                    "covers a batch of one job's targets)."),
    cfg.IntOpt("claim_grace", default=120, min=10,
               help="Seconds a claimed target may stay running after its "
                    "call's timeout before another conductor takes it "
                    "over (the first one is taken for dead)."),
    cfg.ListOpt("secret_keys", default=[], secret=True,
                help="Keys that encrypt the secret parameters of jobs (the "
                     "new password of a password job) in the database: "
                     "long random strings, the first encrypts, all "
                     "decrypt (add a new key first to rotate). The API and "
                     "every conductor need the same list. Without a key, "
                     "password jobs are refused."),
]


def register_opts(conf):
    conf.register_group(jobs_group)
    conf.register_opts(jobs_opts, group=jobs_group)


def list_opts():
    return {jobs_group: jobs_opts}
