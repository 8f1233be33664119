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

ldap_group = cfg.OptGroup(
    "ldap", title="LDAP / Active Directory identity options",
    help="How the ``ldap`` identity driver finds thin-client users in the "
         "company directory (OpenLDAP, 389 DS, Active Directory), checks "
         "their passwords and reads their OU, groups and attributes. See "
         "the 'LDAP and Active Directory identity' admin guide for full "
         "OpenLDAP and Active Directory examples.")

connection_opts = [
    cfg.ListOpt("urls", default=["ldap://localhost"],
                help="Directory servers, tried in this order: the first "
                     "one that answers is used and a dead or hung server "
                     "fails over to the next. ``ldap://host[:port]`` "
                     "(StartTLS when use_tls is true) or "
                     "``ldaps://host[:port]`` (TLS from the first byte). "
                     "List the nearest domain controller first."),
    cfg.StrOpt("bind_dn",
               help="DN of the service account that searches for users "
                    "and groups, e.g. ``cn=vdi-broker,ou=services,"
                    "dc=example,dc=com`` or, on Active Directory, "
                    "``CN=svc-vdi,OU=Service Accounts,DC=corp,DC=example,"
                    "DC=com``. Empty: anonymous searches."),
    cfg.StrOpt("bind_password", secret=True,
               help="Password of the service account. Never logged."),
    cfg.BoolOpt("use_tls", default=True,
                help="Upgrade ``ldap://`` connections with StartTLS before "
                     "any bind. ``ldaps://`` URLs always use TLS. Turn this "
                     "off only for a directory on a trusted loopback or "
                     "test network: without TLS, user passwords cross the "
                     "network in clear text."),
    cfg.StrOpt("ca_file",
               help="PEM file with the CA certificates that sign the "
                    "directory's certificate. Empty: the system's default "
                    "CA store."),
    cfg.StrOpt("cert_file",
               help="Client certificate (PEM) for directories that require "
                    "mutual TLS."),
    cfg.StrOpt("key_file",
               help="Private key (PEM) of cert_file."),
    cfg.StrOpt("tls_req_cert", default="demand",
               choices=[("demand", "The server certificate must be valid, "
                                   "signed by ca_file and match the host "
                                   "name of the URL."),
                        ("allow", "Check the certificate when the server "
                                  "sends one, accept a connection without."),
                        ("never", "Do not check the certificate at all. "
                                  "Insecure: only for tests.")],
               help="How the directory's TLS certificate is checked."),
    cfg.FloatOpt("connect_timeout", default=3.0, min=0.1,
                 help="Seconds to open a TCP connection (and, for ldaps://, "
                      "finish the TLS handshake) before trying the next "
                      "server."),
    cfg.FloatOpt("receive_timeout", default=5.0, min=0.1,
                 help="Seconds to wait for any answer on an open "
                      "connection. A server that accepts connections but "
                      "never answers is cut off after this time and the "
                      "request fails over to the next server."),
    cfg.FloatOpt("server_dead_retry", default=10.0, min=0,
                 help="Seconds a server that failed is skipped before it is "
                      "tried again. When every server failed within this "
                      "time, logins fail at once with 503 instead of "
                      "waiting for timeouts again."),
    cfg.IntOpt("pool_size", default=8, min=1,
               help="Connections kept open to the directory for each "
                    "purpose (service searches and user binds) per API "
                    "process. Each connection runs one request at a time; "
                    "a request waits for a free one."),
    cfg.FloatOpt("pool_wait_timeout", default=5.0, min=0,
                 help="Seconds a login waits for a free pooled connection "
                      "before failing with 503."),
    cfg.IntOpt("pool_idle_timeout", default=600, min=0,
               help="A pooled connection idle for longer than this many "
                    "seconds is closed and opened again before use. Keep "
                    "it below the directory's own idle limit (Active "
                    "Directory MaxConnIdleTime: 900 s) and below firewall "
                    "idle timeouts. 0: never."),
    cfg.IntOpt("keepalive_idle", default=60, min=0,
               help="TCP keepalive: seconds of idleness before the first "
                    "probe on pooled connections, so that firewalls do not "
                    "silently drop them and dead peers are detected. "
                    "0: no TCP keepalive."),
    cfg.IntOpt("keepalive_interval", default=15, min=1,
               help="TCP keepalive: seconds between probes."),
    cfg.IntOpt("keepalive_count", default=4, min=1,
               help="TCP keepalive: unanswered probes before the kernel "
                    "closes the connection."),
]

user_opts = [
    cfg.StrOpt("user_base", default="dc=example,dc=com",
               help="Where users are searched."),
    cfg.StrOpt("user_scope", default="sub",
               choices=[("one", "Only the entries right below user_base."),
                        ("sub", "The whole subtree below user_base.")],
               help="Search scope for users."),
    cfg.StrOpt("user_filter", default="(objectClass=inetOrgPerson)",
               help="LDAP filter every user must also match, e.g. "
                    "``(&(objectClass=user)(!(userAccountControl:"
                    "1.2.840.113556.1.4.803:=2)))`` for enabled Active "
                    "Directory accounts."),
    cfg.StrOpt("user_name_attribute", default="uid",
               help="Attribute holding the login name: ``uid`` (OpenLDAP), "
                    "``sAMAccountName`` or ``userPrincipalName`` (Active "
                    "Directory), ``mail``, ..."),
    cfg.StrOpt("user_display_name_attribute", default="cn",
               help="Attribute with the user's display name "
                    "(``displayName`` on Active Directory)."),
    cfg.DictOpt("user_attribute_map",
                default={"department": "departmentNumber",
                         "title": "title",
                         "employee_type": "employeeType"},
                help="Directory attributes read at login and offered to "
                     "allocator rules as tags, as ``tag:attribute`` pairs. "
                     "Active Directory: ``department:department,title:title,"
                     "employee_type:employeeType``."),
]

group_opts = [
    cfg.StrOpt("group_mode", default="memberof",
               choices=[("memberof", "Read the user's memberOf and walk up "
                                     "through each group's memberOf "
                                     "(OpenLDAP memberof overlay, 389 DS, "
                                     "Active Directory)."),
                        ("member", "Search groups whose member attribute "
                                   "holds the user, then the groups that "
                                   "hold those groups, recursively (any "
                                   "directory)."),
                        ("ad_in_chain", "Active Directory only: one search "
                                        "with the LDAP_MATCHING_RULE_IN_CHAIN "
                                        "(1.2.840.113556.1.4.1941) returns "
                                        "every group, nested included. On "
                                        "other directories it silently "
                                        "returns no groups."),
                        ("none", "Do not read groups.")],
               help="How the user's groups (direct and nested) are found."),
    cfg.StrOpt("group_base", default="dc=example,dc=com",
               help="Where groups are searched (member and ad_in_chain "
                    "modes). In memberof mode only groups below this base "
                    "are reported."),
    cfg.StrOpt("group_scope", default="sub",
               choices=[("one", "Only the entries right below group_base."),
                        ("sub", "The whole subtree below group_base.")],
               help="Search scope for groups."),
    cfg.StrOpt("group_filter", default="(objectClass=groupOfNames)",
               help="LDAP filter every group must match "
                    "(``(objectClass=group)`` on Active Directory)."),
    cfg.StrOpt("group_name_attribute", default="cn",
               help="Attribute holding the group name allocator rules "
                    "match on."),
    cfg.StrOpt("group_member_attribute", default="member",
               help="Attribute of a group listing its members' DNs "
                    "(``member`` for groupOfNames and Active Directory, "
                    "``uniqueMember`` for groupOfUniqueNames)."),
    cfg.StrOpt("user_memberof_attribute", default="memberOf",
               help="Attribute of users and groups listing the DNs of the "
                    "groups they are direct members of (memberof mode)."),
    cfg.IntOpt("group_nesting_depth", default=8, min=0, max=64,
               help="How many levels of parent groups above the user's "
                    "direct groups are followed (memberof and member "
                    "modes). 0: direct groups only. Cycles are detected."),
    cfg.IntOpt("group_cache_ttl", default=60, min=0,
               help="Seconds a group's parent groups are cached (memberof "
                    "and member modes), saving a search per group and "
                    "login. A user's own direct groups are always read at "
                    "login. 0: no cache."),
    cfg.IntOpt("group_cache_size", default=10000, min=1,
               help="Most groups kept in the group cache."),
]

ldap_opts = connection_opts + user_opts + group_opts


def register_opts(conf):
    conf.register_group(ldap_group)
    conf.register_opts(ldap_opts, group=ldap_group)


def list_opts():
    return {ldap_group: ldap_opts}
