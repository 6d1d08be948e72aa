"""The engine's public face: services, each call one unit of work (load, act, save, audit, commit).

Core (the procedures):
- ``deployments``: what is deployed (check, deploy, versions, parsed specs)
- ``forms``: the task forms as versions (seed from forms/, check, publish, the latest in use, diffs)
- ``cases``: open a case, read it (the contract view)
- ``tasks``: inbox query, read, claim/release and complete a user task
- ``timers``: list waiting timers, sweep the due ones, move the simulated clock
- ``audit``: the hash-chained audit trail (append inside a unit of work, verify)
- ``users``, ``accounts``: sign-in, tokens, user and department administration
- ``enterprises``: the enterprise register (intake reconciles with it, never rewrites it; admins correct it)
- ``rest_days``: administrators' corrections of the rest-day calendar

Read models and helpers for the pages:
- ``inbox``, ``case_list``, ``case_detail``, ``board``: queries over the index tables
- ``intake``, ``bulk_import``: checks and creation of cases from forms and spreadsheets
- ``attachments``: documents on a case; ``reports``: the annual workbook
- ``annual``: the annual exit report's run (start on 1 December, confirmations, compilation, publication)

``instances`` is internal: loading and saving a case's workflow and its index rows.
"""
