"""API routes for definition versions and migrating a running case to another version."""

from __future__ import annotations

from flask import g

from engine.services import migration, versions
from webapp.api import api, authenticated, json_body
from webapp.extensions import engine_context


@api.get("/definitions/<process_id>/versions")
@authenticated
def list_definition_versions(process_id: str):
    return [v.as_dict() for v in versions.list_versions(engine_context(), g.actor, process_id)]


@api.get("/definitions/<process_id>/versions/<int:version>")
@authenticated
def show_definition_version(process_id: str, version: int):
    return versions.get_version(engine_context(), g.actor, process_id, version)


@api.post("/cases/<int:case_id>/migrate")
@authenticated
def migrate_case(case_id: int):
    body = json_body()
    expected = body.get("case_version")
    return migration.migrate_case_to_version(engine_context(), g.actor, case_id, body.get("version"),
                                             body.get("note", ""),
                                             expected_version=expected if isinstance(expected, int) else None)
