"""90 webd again, as municipal IT runs it and a browser meets it: what
OPERATIONS.md ("The web inbox (webd)", "Monitoring") and SECURITY.md ("The
web inbox") promise that tests 70 and 71 do not assert. Real hubd, real
webd (test_70's helpers), raw HTTP where the exact bytes matter."""

import signal
import threading
import time

from test_70_web import (PASSWORD, Web, session_cookie,  # noqa: F401
                         web_hub)


def stop_while_a_page_waits(hub, web, sig, freeze):
    """Log in, make the hub unable to answer (`freeze`), ask for a page
    and send webd `sig` while it waits: (exit status, seconds the stop
    took, the page's answer, webd's log)."""
    r, cookies = web.raw_login("cw-anna", PASSWORD)
    assert r.status == 303
    sid = session_cookie(cookies)
    got = {}

    def page():
        try:
            r, text = web.request("GET", "/alerts",
                                  cookies={"ug_session": sid})
            got["page"] = (r.status, text)
        except OSError as e:
            got["page"] = (e, "")

    thaw = freeze()
    try:
        t = threading.Thread(target=page)
        t.start()
        time.sleep(1)
        began = time.monotonic()
        web.proc.send_signal(sig)
        try:
            rc = web.proc.wait(40)
        finally:
            took = time.monotonic() - began
            if web.proc.poll() is None:
                web.proc.kill()
                web.proc.wait()
        t.join(15)
    finally:
        thaw()
    web.log.close()
    return rc, took, got["page"], open(web.log.name).read()


def test_a_stop_does_not_wait_for_a_hub_that_does_not_answer(make_hub):
    """OPERATIONS.md: SIGTERM or SIGINT stops webd at once (exit 0), also
    while a page waits for hubd's answer: that page is answered 503 "Hubben
    svarer ikke lige nu. ..." rather than hold the stop for hub_timeout
    (up to 600 s, past the unit's TimeoutStopSec of 30 s); logged
    `WEB-HUB no answer awaited: webd is stopping`, or `request not sent:
    webd is stopping` when there was no connection to send it on."""
    hub = web_hub(make_hub)

    def frozen():                  # a hub stopped by the system: no answer
        hub.proc.send_signal(signal.SIGSTOP)
        return lambda: hub.proc.send_signal(signal.SIGCONT)

    def down():                    # no hub at all: nothing to send it on
        hub.stop()
        return lambda: None

    cases = ((signal.SIGTERM, frozen, "no answer awaited"),
             (signal.SIGINT, frozen, "no answer awaited"),
             (signal.SIGTERM, down, "request not sent"))
    for n, (sig, freeze, said) in enumerate(cases):
        web = Web(hub, name=f"webd{n}", hub_timeout=60)
        rc, took, (status, text), log = stop_while_a_page_waits(
            hub, web, sig, freeze)
        assert rc == 0 and took < 5, (sig, rc, took, log)
        assert status == 503 and \
            "Hubben svarer ikke lige nu. Prøv igen om lidt." in text, \
            (sig, status, log)
        assert f"webd info WEB-HUB {said}: webd is stopping" in log, log
        assert "no answer from the hub within" not in log and \
            "no connection to the hub" not in log, log
        assert log.rstrip().endswith("WEB-STOP stopped"), log
