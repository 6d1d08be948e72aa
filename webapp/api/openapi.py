"""The OpenAPI 3.1 document of the JSON API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from engine.parties import DIMENSIONS, INDUSTRIES, PARTY_CODES
from webapp.api import api

_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, responses: dict, *, body: dict | None = None, auth: bool = True, params: list | None = None):
    op: dict = {"summary": summary, "responses": {
        str(code): {"description": text, "content": {"application/json": {"schema": schema}}}
        for code, (text, schema) in responses.items()
    }}
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if not auth:
        op["security"] = []
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str, kind: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


TASK = {"type": "object", "required": ["id", "case_id", "key", "name", "department", "due"], "properties": {
    "id": {"type": "string"}, "case_id": {"type": "integer"}, "key": {"type": "string"}, "name": {"type": "string"},
    "department": {"type": "string"}, "due": {"type": ["string", "null"], "format": "date"}}}

CASE = {"type": "object", "required": ["id", "dimension", "status", "lead_department", "deadline", "deadline_rule",
                                       "open_tasks", "history"], "properties": {
    "id": {"type": "integer"}, "dimension": {"enum": list(DIMENSIONS)},
    "status": {"enum": ["open", "compliant", "exited"]}, "lead_department": {"enum": sorted(PARTY_CODES)},
    "deadline": {"type": ["string", "null"], "format": "date"}, "deadline_rule": {"type": ["string", "null"]},
    "open_tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
    "history": {"type": "array", "items": {"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"}, "action": {"type": "string"},
        "actor_name": {"type": ["string", "null"], "description": "the actor's real name, if the account has one"}}}},
}}

NEW_CASE = {"type": "object", "required": ["dimension", "enterprise"], "properties": {
    "dimension": {"enum": list(DIMENSIONS)},
    "lead_department": {"enum": sorted(PARTY_CODES)},
    "enterprise": {"type": "object", "required": ["name", "credit_code"], "properties": {
        "name": {"type": "string"}, "credit_code": {"type": "string", "minLength": 18, "maxLength": 18},
        "county": {"type": "string"}, "industry": {"enum": list(INDUSTRIES)}, "address": {"type": "string"}}},
    "finding": {"type": "object"}}}

FORM_VERSION = {"type": "object", "required": ["key", "version", "saved_at", "saved_by", "note"], "properties": {
    "key": {"type": "string", "example": "rectify.schema.json"}, "version": {"type": "integer"},
    "title": {"type": "string"}, "saved_at": {"type": "string", "format": "date-time"},
    "saved_by": {"type": "string"}, "note": {"type": "string"}, "sha256": {"type": "string"},
    "latest": {"type": "boolean"}}}
FORM = {"allOf": [FORM_VERSION, {"type": "object", "properties": {"schema": {"type": "object",
                                                                            "description": "the JSON Schema"}}}]}

COMMON = {"400": ("invalid input; errors name the field", _ERROR), "401": ("no valid token", _ERROR),
          "403": ("not allowed for this user", _ERROR), "404": ("not found", _ERROR)}


def document() -> dict:
    """Build the OpenAPI document."""
    json_body = lambda schema: {"application/json": {"schema": schema}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {"title": "capexit API", "version": "1", "description":
                 "Lawful exit of outdated industrial capacity. Send `Authorization: Bearer <token>`. Errors answer "
                 "`{message, errors: [{message, field?, line?, element_id?}]}` in Chinese, or English with "
                 "`Accept-Language: en`."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Task": TASK, "Case": CASE, "NewCase": NEW_CASE, "Error": {
                "type": "object", "required": ["message", "errors"], "properties": {
                    "message": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object", "properties": {
                        "message": {"type": "string"}, "field": {"type": "string"}, "line": {"type": "integer"},
                        "column": {"type": "integer"}, "element_id": {"type": "string"}}}}}},
                "FormVersion": FORM_VERSION, "Form": FORM},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/auth/token": {"post": _op("Exchange a username and password for a bearer token", {
                200: ("token", {"type": "object", "properties": {"token": {"type": "string"}}}),
                400: COMMON["400"], 403: ("wrong username or password", _ERROR)}, auth=False, body=json_body({
                    "type": "object", "required": ["username", "password"], "properties": {
                        "username": {"type": "string"}, "password": {"type": "string"}}}))},
            "/cases": {"post": _op("Open a case for a finding (notice date = the clock's today)", {
                201: ("the case", {"$ref": "#/components/schemas/Case"}), **COMMON},
                body=json_body({"$ref": "#/components/schemas/NewCase"}))},
            "/cases/{case_id}": {"get": _op("A case with its deadline, open tasks and history", {
                200: ("the case", {"$ref": "#/components/schemas/Case"}), **COMMON},
                params=[_path_param("case_id", "integer")])},
            "/tasks": {"get": _op("The caller's open tasks", {
                200: ("tasks", {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}), **COMMON})},
            "/tasks/{task_id}": {"get": _op("A task with its form (JSON Schema) and data", {
                200: ("the task", {"type": "object"}), **COMMON}, params=[_path_param("task_id", "string")])},
            "/tasks/{task_id}/complete": {"post": _op("Complete a task with form data", {
                200: ("the case after the step", {"$ref": "#/components/schemas/Case"}), **COMMON,
                409: ("the task is no longer open, or the case changed meanwhile", _ERROR)},
                body=json_body({"type": "object"}), params=[_path_param("task_id", "string")])},
            "/timers": {"get": _op("Waiting timers, soonest first (supervisors)", {
                200: ("timers", {"type": "array", "items": {"type": "object", "properties": {
                    "case_id": {"type": "integer"}, "task_key": {"type": "string"},
                    "due_at": {"type": "string", "format": "date-time"}}}}), **COMMON})},
            "/clock/advance": {"post": _op("Move the simulated clock and fire due timers", {
                200: ("the new time", {"type": "object"}), **COMMON, 409: ("the clock is not simulated", _ERROR)},
                body=json_body({"type": "object", "properties": {"by": {"type": "string", "example": "P6M"},
                                                                 "to": {"type": "string", "format": "date-time"}}}))},
            "/definitions": {"post": _op("Deploy a BPMN definition (owners); nothing is deployed on error", {
                201: ("deployed", {"type": "object", "properties": {"process_id": {"type": "string"},
                                                                   "version": {"type": "integer"}}}), **COMMON},
                body={"application/xml": {"schema": {"type": "string"}}})},
            "/definitions/{process_id}": {"get": _op("The latest version of a definition", {
                200: ("definition", {"type": "object", "properties": {
                    "process_id": {"type": "string"}, "version": {"type": "integer"}, "bpmn": {"type": "string"}}}),
                **COMMON}, params=[_path_param("process_id", "string")])},
            "/reports/annual/{year}.xlsx": {"get": {"summary": "The annual exit report as Excel (approved; else preliminary, 初步汇总)", "parameters": [
                _path_param("year", "integer")], "responses": {"200": {"description": "xlsx", "content": {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}}}},
            "/openapi.json": {"get": _op("This document", {200: ("OpenAPI", {"type": "object"})}, auth=False)},
            "/definitions/{process_id}/versions": {"get": _op(
                "Every version of a definition, newest first, with the cases running and ended on each "
                "(owners, supervisors, admins)", {
                    200: ("versions", {"type": "array", "items": {"type": "object", "properties": {
                        "process_id": {"type": "string"}, "version": {"type": "integer"}, "name": {"type": "string"},
                        "name_en": {"type": ["string", "null"], "description": "the English name (nameEn), if any"},
                        "deployed_at": {"type": "string", "format": "date-time"}, "deployed_by": {"type": "string"},
                        "note": {"type": "string"}, "sha256": {"type": "string"}, "running_cases": {"type": "integer"},
                        "ended_cases": {"type": "integer"}, "latest": {"type": "boolean"}}}}), **COMMON},
                params=[_path_param("process_id", "string")])},
            "/definitions/{process_id}/versions/{version}": {"get": _op(
                "One version of a definition with its BPMN text (owners, supervisors, admins)", {
                    200: ("version", {"type": "object", "required": [
                        "process_id", "version", "bpmn", "deployed_at", "deployed_by", "note"], "properties": {
                        "process_id": {"type": "string"}, "version": {"type": "integer"}, "bpmn": {"type": "string"},
                        "deployed_at": {"type": "string", "format": "date-time"}, "deployed_by": {"type": "string"},
                        "note": {"type": "string"}}}), **COMMON},
                params=[_path_param("process_id", "string"), _path_param("version", "integer")])},
            "/forms": {"get": _op("Every task form at its latest version, with the processes that use it", {
                200: ("forms", {"type": "array", "items": {"type": "object", "properties": {
                    "key": {"type": "string"}, "title": {"type": "string"}, "version": {"type": "integer"},
                    "saved_at": {"type": "string", "format": "date-time"}, "saved_by": {"type": "string"},
                    "used_by": {"type": "array", "items": {"type": "string"}}}}}), **COMMON})},
            "/forms/{key}": {"get": _op("The latest version of a form with its JSON Schema (in use by new cases and "
                                        "open tasks)", {200: ("form", {"$ref": "#/components/schemas/Form"}), **COMMON},
                                        params=[_path_param("key", "string")])},
            "/forms/{key}/versions": {
                "get": _op("Every version of a form, newest first (owners, supervisors, admins)", {
                    200: ("versions", {"type": "array", "items": {"$ref": "#/components/schemas/FormVersion"}}),
                    **COMMON}, params=[_path_param("key", "string")]),
                "post": _op("Publish a new version of a form, or a new form (owners); every check runs first and "
                            "nothing is stored when one fails", {
                    201: ("the new version", {"$ref": "#/components/schemas/Form"}),
                    200: ("the content equals the latest version: no new version (unchanged: true)",
                          {"$ref": "#/components/schemas/Form"}),
                    **COMMON, 400: ("refused: errors give each problem with line, column and JSON path (field)",
                                    _ERROR),
                    409: ("another owner published this form at the same moment", _ERROR)},
                    body=json_body({"type": "object", "required": ["schema", "note"], "properties": {
                        "schema": {"type": ["object", "string"], "description": "the JSON Schema, or its text (the order of `properties` is the order of the "
                                                  "fields on the form: send the text to keep it)"},
                        "note": {"type": "string", "maxLength": 2000, "description": "what changed, and why"}}}),
                    params=[_path_param("key", "string")])},
            "/forms/{key}/versions/{version}": {"get": _op(
                "One version of a form with its schema and text (owners, supervisors, admins)", {
                    200: ("version", {"allOf": [{"$ref": "#/components/schemas/Form"}, {"type": "object",
                                               "properties": {"text": {"type": "string"}}}]}), **COMMON},
                params=[_path_param("key", "string"), _path_param("version", "integer")])},
            "/cases/{case_id}/migrate": {"post": _op(
                "Move a running case to another version of its process (owners, admins): allowed when every step "
                "it completed or stands on exists unchanged in that version", {
                    200: ("migrated", {"type": "object", "properties": {
                        "case_id": {"type": "integer"}, "process_id": {"type": "string"},
                        "from_version": {"type": "integer"}, "to_version": {"type": "integer"},
                        "version": {"type": "integer", "description": "the case row's new version"}}}),
                    **COMMON, 400: ("not allowed: errors give the reasons, each naming the element", _ERROR),
                    409: ("the case already runs on that version, or changed meanwhile", _ERROR)},
                body=json_body({"type": "object", "required": ["version"], "properties": {
                    "version": {"type": "integer"}, "note": {"type": "string", "maxLength": 500},
                    "case_version": {"type": "integer",
                                     "description": "optional: the case's version as read; 409 if it changed"}}}),
                params=[_path_param("case_id", "integer")])},
        },
    }


@api.get("/openapi.json")
def openapi_document():
    return document()
