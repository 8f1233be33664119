"""A thin-client simulator: login storms against a running broker.

``client`` speaks the thin-client API over HTTP, ``runner`` drives many
simulated thin clients (a storm or a ramp) and collects figures,
``audit`` checks the database afterwards: no desktop with two users,
every bound user on their own desktop, no orphan server.
"""
