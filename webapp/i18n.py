"""Chinese by default, English on request (``?lang=en`` once, kept in the session)."""

from __future__ import annotations

from flask import Flask, redirect, request, session
from flask_babel import Babel

LANGUAGES = ("zh", "en")
babel = Babel()


def select_locale() -> str:
    """The session's language, else the browser's preference, else Chinese."""
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "zh"


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and the language switch."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)

    @app.get("/lang/<code>")
    def switch_language(code: str):
        if code in LANGUAGES:
            session["lang"] = code
        target = request.referrer or "/"
        return redirect(target if target.startswith(request.host_url) or target.startswith("/") else "/")

    @app.context_processor
    def language_context():
        return {"current_lang": select_locale()}
