"""Administration of the enterprise register: find an enterprise and correct its registered details.

Intake never changes a registered enterprise (``engine.services.enterprises``); a renamed company or
a wrong county is corrected here, on stated grounds, with an audit event. Views on the ``admin`` blueprint.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput
from engine.services import enterprises
from engine.services.case_list import labels
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required
from webapp.pages.admin import _errors, bp


@bp.get("/enterprises")
@roles_required("admin")
def enterprises_list():
    query = request.args.get("q", "").strip()[:64]
    rows = enterprises.list_enterprises(engine_context(), current_actor(), query or None)
    return render_template("admin/enterprises.html", enterprises=rows, q=query, names=labels(lang()),
                           limit=enterprises.LIST_LIMIT)


@bp.route("/enterprises/<code>", methods=["GET", "POST"])
@roles_required("admin")
def correct_enterprise(code: str):
    ctx, actor = engine_context(), current_actor()
    registered = enterprises.get_enterprise(ctx, actor, code)
    form, errors = dict(registered), {}
    if request.method == "POST":
        changes = {key: request.form.get(key, "") for key in enterprises.DETAILS}
        form.update(changes, reason=request.form.get("reason", ""))
        try:
            changed = enterprises.correct_enterprise(ctx, actor, registered["credit_code"], changes, form["reason"])
        except InvalidInput as exc:
            errors = _errors(exc)
        else:
            flash(_("已更正企业 %(code)s 的登记信息：%(fields)s", code=registered["credit_code"],
                    fields=_field_names(changed)) if changed else _("登记信息没有变化，未作更正"), "info")
            return redirect(url_for("admin.enterprises_list", q=registered["credit_code"]))
    corrections = enterprises.corrections(ctx, actor, registered["credit_code"])
    return render_template("admin/enterprise.html", registered=registered, form=form, errors=errors,
                           counties=enterprises.COUNTIES, names=labels(lang()), corrections=corrections), (
        400 if errors else 200)


def _field_names(changed: dict[str, list[str]]) -> str:
    """The corrected fields named in the page's language ("name, county/district")."""
    english = lang() == "en"
    return (", " if english else "、").join(enterprises.DETAILS[key][1 if english else 0] for key in changed)
