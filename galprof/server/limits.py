"""Per-token request budgets of `galprof serve` (token buckets) and the constant-time token check."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` requests per second per key with bursts of up to `burst`; `take(key)` returns 0 when a
    request may run, else the seconds to wait before the next one would be allowed."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, Bucket] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self.lock:
            bucket = self.buckets.setdefault(key, Bucket(float(self.burst), now))
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


class TokenCheck:
    """Bearer tokens compared in constant time (as SHA-256 digests, so lengths do not leak either).
    `match(presented)` returns the matching token's key (a digest prefix, for rate limits) or None."""

    def __init__(self, tokens: list[str]):
        if not tokens:
            raise ValueError("at least one token is needed")
        self.digests = [hashlib.sha256(t.encode()).digest() for t in tokens]

    def match(self, presented: str | None) -> str | None:
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found = None
        for known in self.digests:  # every token compared: the time does not say which one matched
            if hmac.compare_digest(digest, known):
                found = known.hex()[:16]
        return found


def read_tokens(path: str) -> list[str]:
    """The tokens of a token file: one per line, blank lines and # comments ignored, each >= 16
    characters (ValueError naming the problem otherwise)."""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    tokens = [line for line in lines if line and not line.startswith("#")]
    if not tokens:
        raise ValueError("holds no token")
    if any(len(t) < 16 for t in tokens):
        raise ValueError("a token is shorter than 16 characters (make one with: "
                         "python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if any(any(c.isspace() for c in t) or not t.isprintable() for t in tokens):
        raise ValueError("a token holds spaces or control characters")
    return tokens
