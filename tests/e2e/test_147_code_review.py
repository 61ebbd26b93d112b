"""147 a second reviewer's look at this stop's C changes, as their users
use them: what PROTOCOL.md says of Login's `replaces` (which session a
login may end, and when it ends none) that tests 140 and 141 do not
assert, and OPERATIONS.md's JSON Lines refusal of `hubctl assign --file`
for a file read from a pipe. Real hubd, raw gateway frames (test_54's
helpers), real hubctl."""

import json
import os
import re
import subprocess

import hubtest
from hubtest import SLOW, CprGen, binary, dashed, wait_for
from test_54_gateway_frames import (E_DENIED, E_UNAUTHENTICATED,
                                    FRAME_LOGIN, FRAME_QUERY, PASSWORD,
                                    Gateway, gateway_and_passwords)


def test_replaces_ends_only_this_gateways_session_once_the_password_is_right(
        make_hub):
    """PROTOCOL.md, Login: `replaces` is ended "once the password is
    right", "one that opens nothing for this gateway key is ignored; a
    refused login leaves it as it is". Another gateway's session named
    in it, a token of the wrong length or of no session, and a refused
    login end nothing; the same gateway's login with the right password
    ends it, audited `logout` `logout` once."""
    hub = make_hub(caseworkers={"cw-anna": False, "cw-bo": False})
    gateway_and_passwords(hub, "cw-anna", "cw-bo")
    hub.keygen("web-2")
    hub.hubctl("register-gateway", "web-2")
    m = hubtest.pb()
    g1, g2 = Gateway(hub, "web-1"), Gateway(hub, "web-2")
    rid = [0]

    def log_in(g, who, password=PASSWORD, replaces=b""):
        rid[0] += 1
        return g.ask(FRAME_LOGIN, m.Login(request_id=rid[0], caseworker=who,
                                          password=password,
                                          replaces=replaces))

    def alive(g, session):
        rid[0] += 1
        r = g.ask(FRAME_QUERY, m.Query(request_id=rid[0],
                                       kind=m.ALERTS_CHANGED,
                                       session=session))
        return r.code
    try:
        anna = log_in(g1, "cw-anna").session
        assert len(anna) == 32 and alive(g1, anna) == 0
        # Through another gateway key: not this gateway's session.
        assert log_in(g2, "cw-bo", replaces=anna).code == 0
        assert alive(g1, anna) == 0
        # Refused: the held session stays, whoever was typed.
        for who, password in (("cw-bo", "wrong one"),
                              ("cw-anna", "wrong one"),
                              ("cw-nobody", PASSWORD),
                              ("Not An Id", PASSWORD)):
            assert log_in(g1, who, password, replaces=anna).code == \
                E_DENIED, who
            assert alive(g1, anna) == 0, who
        # Of no session: ignored, the login done.
        for junk in (b"\x01" * 5, os.urandom(32), anna + b"x"):
            assert log_in(g1, "cw-bo", replaces=junk).code == 0
            assert alive(g1, anna) == 0
        # This gateway's, the password right: it ends.
        assert log_in(g1, "cw-bo", replaces=anna).code == 0
        assert alive(g1, anna) == E_UNAUTHENTICATED
    finally:
        g1.close()
        g2.close()
    hub.wait_log(r"HUB-WEB web session of cw-anna ended: logout")

    def trail():
        return hub.hubctl("audit", "show").stdout
    # The trail is written a moment after the loop's turn.
    wait_for(lambda: re.search(r"cw-anna +logout", trail()), 20,
             "cw-anna's logout in the audit trail", interval=0.3)
    trail = trail()
    assert len(re.findall(r"cw-anna +logout +logout", trail)) == 1, trail
    assert not re.search(r"cw-bo +logout", trail), trail


def test_replaces_past_its_lifetime_ends_as_lifetime(make_hub):
    """PROTOCOL.md, Login: the session `replaces` names is audited
    `logout` `logout`, "`lifetime` when its lifetime has passed". On the
    hub clock one second past a 1-minute lifetime (inside the 5 seconds
    hubd leaves the gateway's own end), a login replacing it ends it as
    `lifetime`, once, and the new session lives."""
    hub = make_hub(clock="2026-03-02T08:00:00",
                   caseworkers={"cw-anna": False})
    gateway_and_passwords(hub, "cw-anna")
    m = hubtest.pb()
    g = Gateway(hub, "web-1")
    try:
        old = g.ask(FRAME_LOGIN, m.Login(request_id=1, caseworker="cw-anna",
                                         password=PASSWORD, lifetime=1))
        assert old.code == 0, old
        hub.advance("2026-03-02T08:01:01")
        new = g.ask(FRAME_LOGIN, m.Login(request_id=2, caseworker="cw-anna",
                                         password=PASSWORD,
                                         replaces=old.session))
        assert new.code == 0, new
        r = g.ask(FRAME_QUERY, m.Query(request_id=3, kind=m.ALERTS_CHANGED,
                                       session=new.session))
        assert r.code == 0, r
    finally:
        g.close()
    hub.wait_log(r"HUB-WEB web session of cw-anna ended: lifetime")

    def trail():
        return hub.hubctl("audit", "show").stdout
    wait_for(lambda: re.search(r"cw-anna +logout", trail()), 20,
             "cw-anna's logout in the audit trail", interval=0.3)
    ends = re.findall(r"cw-anna +logout +(\S+)", trail())
    assert ends == ["lifetime"], trail()


def test_assign_file_from_a_pipe_refuses_json_lines_as_a_file_does(
        make_hub):
    """OPERATIONS.md, `hubctl assign --file`: "A JSON Lines file (its
    first character `{`, a byte order mark before it or not) ... is
    refused as a whole", exit 1, nothing stored. Read from a pipe
    (`--file /dev/stdin`), not only from a file that can be read again:
    it was blamed on a quote ("header row: text follows the closing
    quote"). A CSV file from a pipe is read whole, its first bytes too."""
    hub = make_hub()
    cpr = CprGen(14701).next()
    hub.cprs.add(cpr)
    line = json.dumps({"cpr": dashed(cpr), "caseworker": "cw-anna"}) + "\n"

    def assign(data):
        return subprocess.run(
            [binary("hubctl"), "--config", str(hub.conf), "assign",
             "--file", "/dev/stdin"], input=data, capture_output=True,
            timeout=60 * SLOW)
    for data in (line.encode(), b"\xef\xbb\xbf" + line.encode()):
        p = assign(data)
        assert (p.returncode, p.stdout) == (1, b""), p
        assert p.stderr.decode() == (
            "hubctl: /dev/stdin: the file is JSON Lines; assign --file "
            "reads CSV only (import JSON Lines with adapter-youthunit)\n"), p
    p = assign(f"\ufeffcpr;caseworker\r\n{cpr};cw-anna\r\n".encode())
    assert (p.returncode, p.stderr) == (0, b""), p
    assert p.stdout == b"assignments: 1 new, 0 already known, 0 rejected\n"
    # The JSON Lines refusals stored nothing: the row is new only once.
    p = assign(f"cpr;caseworker\n{cpr};cw-anna\n".encode())
    assert p.stdout == b"assignments: 0 new, 1 already known, 0 rejected\n"
