"""The client's link against servers that misbehave (a real TLS server on 127.0.0.1 answering what each
test asks): every failure is a short reason, transient ones are retried with backoff, and a dead or
refusing server stops being asked."""

from __future__ import annotations

import time

import pytest

from galprof.server.link import LinkOptions, RemoteFailure, ServerLink
from tests.server_helpers import ThreadServer, tls_files


class Scripted:
    """An ASGI app answering each POST with the next (status, body, headers) of its script."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        status, body, headers = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), *headers]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture()
def tls(tmp_path):
    return tls_files(tmp_path)


def link_to(server, **options) -> ServerLink:
    return ServerLink(LinkOptions(url=server.url, token="t" * 20, pin=server.pin, backoff=0.01, **options))


@pytest.mark.parametrize("script, reason, calls", [
    ([(503, b"{}", [])], "HTTP 503", 3),  # retried twice
    ([(503, b"{}", []), (200, b'{"ok": 1}', [])], None, 2),  # the retry succeeds
    ([(401, b"{}", [])], "token refused (401)", 1),
    ([(413, b"{}", [])], "HTTP 413", 1),  # the server will not take it: no retry
    ([(200, b"not json", [])], "bad answer (not JSON)", 1),
    ([(200, b" " * (5 * 2**20), [])], "bad answer (too large)", 1),
    ([(429, b"{}", [(b"retry-after", b"1")]), (200, b"[]", [])], None, 2),
])
def test_answers_become_results_or_short_reasons(tls, script, reason, calls):
    app = Scripted(script)
    with ThreadServer(app, *tls) as server:
        link = link_to(server)
        if reason is None:
            assert link.analyze(b"\xff\xd8\xff", None) is not None
        else:
            with pytest.raises(RemoteFailure) as failure:
                link.analyze(b"\xff\xd8\xff", None)
            assert failure.value.reason == reason
        link.close()
        assert app.calls == calls


def test_a_refused_token_stops_the_link_and_repeated_failures_pause_it(tls):
    app = Scripted([(401, b"{}", [])])
    with ThreadServer(app, *tls) as server:
        link = link_to(server)
        for _ in range(3):
            with pytest.raises(RemoteFailure, match="token refused"):
                link.analyze(b"x", None)
        assert app.calls == 1
    app = Scripted([(500, b"{}", [])])
    with ThreadServer(app, *tls) as server:
        link = link_to(server, retries=0, pause_after=2, pause=60)
        for expected in ("HTTP 500", "HTTP 500", "unavailable (skipped after repeated failures)"):
            with pytest.raises(RemoteFailure) as failure:
                link.analyze(b"x", None)
            assert failure.value.reason == expected
        link.close()
        assert app.calls == 2


def test_an_unreachable_server_fails_fast_with_a_reason(tls):
    with ThreadServer(Scripted([(200, b"[]", [])]), *tls) as server:
        url, pin = server.url, server.pin
    link = ServerLink(LinkOptions(url=url, token="t" * 20, pin=pin, backoff=0.01, timeout=2))
    started = time.monotonic()
    with pytest.raises(RemoteFailure, match="unreachable"):
        link.analyze(b"x", None)
    assert time.monotonic() - started < 5
