"""The operations portal: a web client of the broker's admin API.

It replaces Horizon for the call centre's IT operators, helpdesk and
asset managers (R8, R14). It is its own WSGI application
(``vdi_broker.wsgi.portal:application``) and never opens the database:
everything it shows or changes goes through the admin API over HTTP,
with the operator's own Keystone token, so that the API's policy decides
what each persona may do.
"""
