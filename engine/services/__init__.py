"""The engine's public face: a few services, each call one unit of work.

- ``deployments``: what is deployed (check, deploy, versions, parsed specs)
- ``cases``: start a case, read a case
- ``tasks``: inbox queries, read and complete a user task
- ``timers``: list waiting timers, fire the due ones, move the simulated clock
- ``history``: the audit trail (read only)
- ``users``: accounts, passwords and API tokens
"""
