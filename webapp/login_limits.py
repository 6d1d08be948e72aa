"""Too many failed sign-ins: a sliding window per account and per client address (in process memory).

Five failures for one username, or twenty from one address, within fifteen minutes lock
further attempts until the oldest failure leaves the window. Each worker process keeps
its own counts, so with N workers the bound is N times as loose; that still stops
online password guessing, which is its purpose.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

WINDOW_SECONDS = 15 * 60
PER_USER = 5
PER_ADDRESS = 20


class LoginLimiter:
    """Counts recent failures by key and says how long a key must wait."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and now - times[0] > WINDOW_SECONDS:
            times.popleft()
        return times

    def wait_seconds(self, username: str, address: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = self._clock()
        with self._lock:
            waits = []
            for key, limit in ((f"u:{username.lower()}", PER_USER), (f"a:{address}", PER_ADDRESS)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(int(WINDOW_SECONDS - (now - times[0])) + 1)
            return max(waits, default=0)

    def failed(self, username: str, address: str) -> None:
        """Record a failed attempt."""
        now = self._clock()
        with self._lock:
            self._failures[f"u:{username.lower()}"].append(now)
            self._failures[f"a:{address}"].append(now)

    def succeeded(self, username: str) -> None:
        """Forget the account's failures after a good sign-in."""
        with self._lock:
            self._failures.pop(f"u:{username.lower()}", None)



def limiter() -> LoginLimiter:
    """The current app's limiter (one per app, so tests and apps never share counts)."""
    from flask import current_app

    return current_app.extensions.setdefault("capexit_login_limiter", LoginLimiter())
