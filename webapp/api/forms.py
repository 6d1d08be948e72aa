"""API routes for task forms: the list, the latest version, versions, and publishing a new version (owners)."""

from __future__ import annotations

from flask import g

from engine.services import forms
from webapp.api import api, authenticated, json_body
from webapp.extensions import engine_context


@api.get("/forms")
@authenticated
def list_forms():
    return [{"key": f.key, "title": f.title, "version": f.version, "saved_at": f.saved_at.isoformat(),
             "saved_by": f.saved_by, "used_by": list(f.used_by)} for f in forms.forms_list(engine_context())]


@api.get("/forms/<key>")
@authenticated
def show_form(key: str):
    found = forms.latest(engine_context(), key)
    found.pop("text")
    return found


@api.get("/forms/<key>/versions")
@authenticated
def list_form_versions(key: str):
    return [v.as_dict() for v in forms.versions(engine_context(), g.actor, key)]


@api.get("/forms/<key>/versions/<int:number>")
@authenticated
def show_form_version(key: str, number: int):
    return forms.version(engine_context(), g.actor, key, number)


@api.post("/forms/<key>/versions")
@authenticated
def publish_form(key: str):
    body = json_body()
    done = forms.publish(engine_context(), g.actor, key, body.get("schema", body.get("text")), body.get("note"))
    view = forms.version(engine_context(), g.actor, key, done["version"])
    view["unchanged"] = done["unchanged"]
    return view, 200 if done["unchanged"] else 201
