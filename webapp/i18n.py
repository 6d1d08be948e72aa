"""Chinese by default, English on request: ``/lang/<code>`` keeps the choice in a cookie of its own.

The language lives beside the session, not in it: an answer that re-sent the session cookie as it stood
when its request left (a page's static file still on its way) could otherwise undo a choice made meanwhile,
and signing out keeps the language the person chose.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, redirect, request
from flask_babel import Babel

LANGUAGES = ("zh", "en")
LANGUAGE_COOKIE = "capexit_lang"
LANGUAGE_COOKIE_AGE = timedelta(days=365)
babel = Babel()


def select_locale() -> str:
    """``?lang=`` on the request, else the language cookie, else the browser's preference, else Chinese."""
    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
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
        target = request.referrer or "/"
        response = redirect(target if target.startswith(request.host_url) or target.startswith("/") else "/")
        if code in LANGUAGES:
            response.set_cookie(LANGUAGE_COOKIE, code, max_age=LANGUAGE_COOKIE_AGE, httponly=True, samesite="Lax",
                                secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
        return response

    @app.context_processor
    def language_context():
        return {"current_lang": select_locale()}
