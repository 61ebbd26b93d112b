"""docs/OPERATIONS.md, its second half, as operations and the duty desk
read it: what its sentences promise that the other ops tests (test_58,
test_61, test_62, test_69, test_80, test_82) do not assert."""
import subprocess
import urllib.parse

from hubtest import binary
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


def test_ops_silence_takes_tabs_as_blanks_around_items(make_hub):
    """OPERATIONS.md, Operational alerts: blanks around an ops_silence
    item or its `=` are ignored -- blanks being spaces and tabs, as the
    document says of them elsewhere and as hubd.conf takes them around a
    value: a tab after a comma, as an editor puts it, is layout too. An
    item of blanks alone is still an empty item, refused."""
    hub = make_hub(start=False)
    hub.conf.write_text(hub.conf.read_text() +
                        "ops_silence = school-a=3,\tcollege-a = 48\n")

    def check(*args):
        return subprocess.run([binary("hubd"), "--check-config", "--config",
                               str(hub.conf), *args],
                              capture_output=True, text=True, timeout=30)
    r = check()
    assert (r.returncode, r.stdout, r.stderr) == \
        (0, "hubd: configuration OK\n", ""), r.stderr
    for good in ("school-a\t=\t3", "\tschool-a=3 \t, college-a=4\t"):
        r = check("--ops_silence", good)
        assert (r.returncode, r.stdout) == (0, "hubd: configuration OK\n"), \
            (good, r.stderr)
    r = check("--ops_silence", "school-a=3,\t")
    assert r.returncode == 2 and "hubd: ops_silence must be agency=HOURS" \
        in r.stderr, r.stderr
    r = check("--ops_silence", "school-a=3,\tschool-a=4")
    assert r.returncode == 2 and \
        "ops_silence names agency 'school-a' twice" in r.stderr, r.stderr
