"""The login path: one directory bind and one database transaction.

``service.py`` runs a login in the API process; ``chain.py`` is the
allocator chain's pure decision; ``compensation.py`` undoes a claim whose
connection failed. See doc/source/admin/architecture.rst.
"""
