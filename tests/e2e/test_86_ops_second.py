"""docs/OPERATIONS.md, its second half, as operations and the duty desk
read it: what its sentences promise that the other ops tests (test_58,
test_61, test_62, test_69, test_80, test_82) do not assert."""
import urllib.parse

from test_70_web import Web, anna_session, web_hub


def test_a_log_line_cut_at_2047_bytes_ends_at_a_whole_character(make_hub):
    """OPERATIONS.md, Monitoring: a line holds at most 2,047 bytes with
    its newline, a longer message cut there at a whole character. webd
    quotes the path of a refused POST (WEB-CSRF); a path of 'ø's, shifted
    a byte at a time, puts the cut at each place within one, and every
    line stays UTF-8 (a journal shows one that is not as a blob)."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        session = anna_session(web)
        for pad in range(4):
            path = "/alert/" + "p" * pad + urllib.parse.quote("ø" * 1100)
            r, _ = web.request("POST", path, {"note": "x"},
                               cookies=session)
            assert r.status == 403
    finally:
        web.stop()
    lines = [ln for ln in (hub.logs_dir / "webd.log").read_bytes()
             .split(b"\n") if b"WEB-CSRF" in ln]
    assert len(lines) == 4, lines
    for line in lines:
        assert len(line) + 1 in (2046, 2047), len(line)
        assert line.endswith("ø".encode()), line[-8:]
        line.decode("utf-8")         # raises on a character cut in two
