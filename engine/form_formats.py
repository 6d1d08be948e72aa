"""The ``format`` checks a completion applies to form data: JSON Schema's own, with ``uri`` meaning a web address.

jsonschema checks ``uri`` only with an optional package, and RFC 3986 would accept ``javascript:`` anyway.
A form's ``uri`` field holds a page people open (an announcement's address), so here it is an absolute
``http``/``https`` URL with a host, and nothing else. The public page links only such addresses
(``is_web_address``), whatever older data holds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import jsonschema

WEB_SCHEMES = ("http", "https")
# The task page's input: the browser's hint of the same rule (the server's check is ``is_web_address``).
WEB_ADDRESS_PATTERN = r"[Hh][Tt][Tt][Pp][Ss]?:\/\/[^\/?#\s]+\S*"


def is_web_address(value: Any) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host and no spaces or control characters."""
    if not isinstance(value, str) or value != value.strip() or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(host)


def _uri(value: Any) -> bool:
    return not isinstance(value, str) or is_web_address(value)  # other types are the ``type`` keyword's business


FORMAT_CHECKER = jsonschema.FormatChecker(())
FORMAT_CHECKER.checkers = dict(jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers)
FORMAT_CHECKER.checks("uri")(_uri)
