"""Helpers for the adapter runtime's end-to-end tests (test_2x_*).

What they add to hubtest.py:

  event_id(hub, row)       the id adapter-school gives an AbsenceRow, computed
                           here independently (docs/ADAPTERS.md, "Corrections")
  stored(hub)              the hub's stored events (hubctl log --json), by id
  assert_store(hub, rows)  the hub holds exactly these rows' events
  rejects_csv(path)        a CSV rejects file as [(line, column, reason)]
  encode(text, encoding)   bytes of a CSV in utf-8/cp1252/latin1/utf-16
  peak_rss_kb(pid)         VmHWM of a running process (/proc)

Every wait polls against a deadline (hubtest.wait_for); nothing sleeps a
fixed time to synchronise.
"""

import datetime
import hashlib
import json
import re

import hubtest
from hubtest import read_key_file

KINDS = {"illness": 1, "sygdom": 1, "permitted": 2, "lovligt": 2,
         "unlawful": 3, "ulovligt": 3, "all": 4, "alle": 4}


def iso(text):
    """YYYY-MM-DD from the ISO or a Danish form."""
    m = re.fullmatch(r"(\d\d)[-.](\d\d)[-.](\d{4})", text)
    return f"{m[3]}-{m[2]}-{m[1]}" if m else text


def event_id(hub, row, agency="school-a", supersedes=None):
    """The id adapter-school gives row (an AbsenceRow): BE64 occurred_at,
    then the first 8 bytes of BLAKE2b-128 keyed with the agency's hash
    key over natural key 0x1e content."""
    m = hubtest.pb()
    key = read_key_file(hub.keys_dir / f"{agency}.key_secret")["hash_key"]
    cpr = row.cpr.replace("-", "").replace(" ", "")
    start, end = iso(row.period_start), iso(row.period_end)
    kind = KINDS[row.kind.lower()]
    days = (datetime.date.fromisoformat(end) -
            datetime.date(1970, 1, 1)).days
    occurred = days * 86400000
    natural = "\x1f".join(["absence", row.school, cpr, start, end,
                           str(kind)]).encode()
    env = m.Envelope(agency=agency, schema_version=1, type=m.ABSENCE_REPORT,
                     sensitivity=m.PERSONAL, occurred_at=occurred, cpr=cpr)
    a = env.absence_report
    a.school, a.period_start, a.period_end = row.school, start, end
    a.lessons_absent, a.lessons_expected = row.absent, row.expected
    a.kind = kind
    grade = re.match(r"\d*", str(row.grade))[0]
    a.grade = int(grade) if grade else 0
    content = env.SerializeToString()
    digest = hashlib.blake2b(natural + b"\x1e" + content, digest_size=16,
                             key=bytes.fromhex(key)).digest()
    return (occurred.to_bytes(8, "big") + digest[:8]).hex()


def stored(hub):
    """{event_id: record} of every event in the hub's log."""
    p = hub.hubctl("log", "--json")
    out = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            out[rec["event_id"]] = rec
    return out


def wait_stored(hub, n, timeout=30):
    """Wait until the hub has applied n events; returns stored(hub)."""
    hub.wait_stats(f"{n} events applied",
                   lambda s: s["log_events"] == n and s["last_applied"] == n,
                   timeout=timeout)
    return stored(hub)


def assert_store(hub, rows, agency="school-a"):
    """The hub holds exactly the events of rows, and nothing else."""
    want = {event_id(hub, r, agency) for r in rows}
    got = wait_stored(hub, len(want))
    assert set(got) == want, \
        f"store differs: missing {sorted(want - set(got))}, " \
        f"extra {sorted(set(got) - want)}"
    return got


def rejects_csv(path, sep=";"):
    """[(line, column, reason)] of a CSV rejects file, header skipped."""
    text = path.read_bytes().decode("utf-8-sig")
    out = []
    for line in text.splitlines()[1:]:
        # line;column;reason;row... (column and reason quoted if needed)
        fields = next(iter(__import__("csv").reader([line], delimiter=sep)))
        out.append((int(fields[0]), fields[1], fields[2]))
    return out


def encode(text, encoding):
    return text.encode(encoding)


def peak_rss_kb(pid):
    """VmHWM (peak resident set) of a live process, in kB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
