"""CSRF on every form (the bearer-token API is exempt), secure cookies, security headers."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, abort, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "font-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


SESSION_SETTINGS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # set True behind HTTPS (see README)
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    # The session cookie is written only when the session changes (signing in or out, a flash message, the CSRF
    # token): an answer to a request sent before signing out (a static file, another tab) would otherwise
    # re-send the signed-in cookie and undo it. A session so ends 8 hours after signing in, however busy.
    "SESSION_REFRESH_EACH_REQUEST": False,
}


def init_app(app: Flask) -> None:
    """Turn on CSRF protection and response headers (cookie settings: ``SESSION_SETTINGS``)."""
    csrf.init_app(app)
    from webapp.api import api

    csrf.exempt(api)

    @app.before_request
    def refuse_nul():
        """PostgreSQL text cannot hold NUL: a path, query or form field with one is a 400, never a 500."""
        fields = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += [text for pair in request.form.items(multi=True) for text in pair]
        if any("\x00" in text for text in fields):
            if request.path.startswith("/api/"):
                from webapp.api import error_response, language

                return error_response(400, "text may not contain the NUL character" if language() == "en"
                                      else "文本不能包含 NUL 字符")
            abort(400)
        return None

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response
