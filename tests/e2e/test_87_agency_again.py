"""87 ADAPTERS.md read again as an agency's IT staff read it, for the
second case each sentence names: every column alias and every value word
of the five adapters' tables, written as an export would write them; the
seeded municipality's bad rows against what its adapters reject; an
outbox whose data.mdb is cut short, emptied or no LMDB file; the watcher's
word to systemd; SIGHUP during import and flush; the spellings of the
encoding setting. One hub serves every check of a test."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import hubtest
from agencytest import TYPES, column_tables, run_adapter
from hubtest import (ROOT, CprGen, EXIT_FATAL, EXIT_OK, EXIT_PENDING,
                     EXIT_ROWS_REJECTED, dashed)

CPR, CPR2 = CprGen(8701).take(2)

# One good row per kind, by the column names of its table in ADAPTERS.md.
GOOD = {
    ("school", "absence"): {
        "cpr": dashed(CPR), "school": "280017", "period_start": "2026-03-02",
        "period_end": "2026-03-06", "lessons_absent": "4",
        "lessons_expected": "30", "kind": "ulovligt", "grade": "8b"},
    ("school", "readiness"): {
        "cpr": dashed(CPR), "school": "280017", "grade": "9",
        "date": "2026-01-15", "ready": "ikke parat", "areas": "faglig",
        "not_ready_academic": "x", "not_ready_personal": "",
        "not_ready_social": ""},
    ("school", "leaving"): {
        "cpr": dashed(CPR), "school": "280017", "grade": "9",
        "date": "2026-06-26", "leaving": "afgang"},
    ("college", "status"): {
        "cpr": dashed(CPR), "institution": "eud-vestegnen",
        "programme": "eud-tomrer", "status": "frafald", "date": "16-10-2026",
        "start": "10-08-2026", "reason": "FRA-03"},
    ("addiction", "referral"): {
        "cpr": dashed(CPR), "anonymous": "", "record_id": "",
        "service": "rmc-albertslund", "date": "2026-09-14",
        "stage": "henvist", "consent": "ja", "consent_scope": "alt",
        "consent_expires": ""},
    ("jobcenter", "benefit"): {
        "cpr": dashed(CPR), "jobcenter": "jc-albertslund",
        "benefit": "kontanthjælp", "start": "15-01-2026",
        "stop": "30-09-2026", "reason": "JOB"},
    ("jobcenter", "missed_activation"): {
        "cpr": dashed(CPR), "jobcenter": "jc-albertslund",
        "date": "2026-09-15", "activity": "VIRK-PRAK"},
    ("youthunit", "assignment"): {
        "cpr": dashed(CPR), "caseworker": "cw-anna", "role": "kontakt",
        "from": "2026-01-05", "to": ""},
    ("youthunit", "desk"): {
        "desk": "duty-desk", "caseworker": "cw-desk", "from": "01-10-2025",
        "to": "", "team_lead": "ja"},
}


def agencies_hub(make_hub):
    hub = make_hub(agencies={f"{a}-x": t for a, t in TYPES.items()},
                   caseworkers={"cw-anna": False, "cw-desk": True})
    hub.cprs.update([CPR, CPR2])
    return hub


def doc_tables():
    """(adapter, kind) -> [(column, [aliases])], from the column tables
    of ADAPTERS.md's section on the adapters."""
    return {(adapter, kind): [(column, aliases)
                              for column, aliases, _ in rows]
            for adapter, kinds in column_tables().items()
            for kind, rows in kinds.items()}


def write(hub, name, text, encoding="utf-8"):
    path = hub.inputs_dir / name
    path.write_bytes(text.encode(encoding))
    return path


def import_json(hub, adapter, path, *args, **settings):
    r = run_adapter(hub, adapter, "import", path, *args,
                    agency=f"{adapter}-x", **settings)
    lines = [json.loads(ln) for ln in r.stdout.splitlines()
             if ln.startswith("{")]
    return r, lines


def test_every_documented_alias_names_its_column(make_hub):
    """ADAPTERS.md: each table's aliases are the other names a column is
    accepted under. A header naming every column by an alias (the n-th
    alias of each, the name itself where a column has fewer) is read as
    its kind, found from the header alone, and its row is an event."""
    tables = doc_tables()
    assert set(tables) == set(GOOD), sorted(tables)
    hub = agencies_hub(make_hub)
    for (adapter, kind), columns in tables.items():
        assert [c for c, _ in columns] == list(GOOD[(adapter, kind)]), \
            (adapter, kind, columns)
        most = max(len(a) for _, a in columns)
        for n in range(most):
            names = [aliases[n] if n < len(aliases) else column
                     for column, aliases in columns]
            values = [GOOD[(adapter, kind)][c] for c, _ in columns]
            path = write(hub, f"alias-{adapter}-{kind}-{n}.csv",
                         ";".join(names) + "\n" + ";".join(values) + "\n")
            r, lines = import_json(hub, adapter, path)
            assert r.rc == EXIT_OK, (names, str(r))
            assert lines[0]["kind"] == kind, (names, lines)
            assert lines[0]["events"] == 1, (names, lines)


# The words of the values columns, as the tables and the text list them
# (a word with æ, ø or å also in ae, oe, aa).
WORDS = {
    ("college", "status", "status"): [
        "start", "started", "enrolled", "optaget", "påbegyndt", "begyndt",
        "completed", "gennemført", "fuldført", "afsluttet", "transferred",
        "transfer", "overflyttet", "overflytning", "skiftet", "dropped_out",
        "dropout", "frafald", "afbrudt", "udmeldt", "risk", "dropout_risk",
        "frafaldstruet", "risiko", "frafaldsrisiko", "enrolment",
        "optagelse", "frafaldet", "paabegyndt", "gennemfoert",
        "fuldfoert"],
    ("addiction", "referral", "stage"): [
        "referred", "referral", "henvist", "henvisning", "started",
        "treatment started", "startet", "opstart", "behandling startet",
        "påbegyndt", "ended", "treatment ended", "afsluttet",
        "behandling afsluttet", "slut", "ophørt", "start", "end",
        "paabegyndt", "ophoert"],
    ("addiction", "referral", "consent"): [
        "yes", "ja", "given", "givet", "no", "nej", "not given",
        "ikke givet", "withdrawn", "tilbagekaldt", "y", "j", "x", "1",
        "true", "n", "0", "false"],
    ("addiction", "referral", "consent_scope"): [
        "referral", "henvisning", "stage", "forløb", "stadie", "treatment",
        "behandling", "all", "alt", "alle", "henvisning og behandling",
        "forloeb"],
    ("jobcenter", "benefit", "benefit"): [
        "education", "uddannelseshjælp", "cash", "kontanthjælp",
        "integration", "selvforsørgelses- og hjemrejseydelse",
        "hjemrejseydelse", "selvforsørgelsesydelse", "overgangsydelse",
        "integrationsydelse", "education benefit", "cash benefit",
        "integration benefit", "uddannelseshjaelp", "kontanthjaelp",
        "selvforsoergelses- og hjemrejseydelse",
        "selvforsoergelsesydelse"],
    ("youthunit", "assignment", "role"): [
        "contact", "kontaktperson", "kontakt", "guidance", "vejleder",
        "UU-vejleder", "uu", "vejledning", "mentor", "contact person",
        "guidance counsellor"],
    ("youthunit", "desk", "team_lead"): [
        "yes", "ja", "y", "j", "x", "1", "true", "no", "nej", "n", "0",
        "false"],
    ("school", "absence", "kind"): [
        "illness", "sygdom", "permitted", "lovligt", "unlawful", "ulovligt",
        "all", "alle"],
    ("school", "readiness", "ready"): [
        "yes", "ja", "ready", "parat", "uddannelsesparat", "1", "true"],
    ("school", "readiness", "areas"): [
        "academic", "faglig", "personal", "personlig", "social", "faglige",
        "sociale", "faglig og social", "personal and social",
        "faglig+personlig", "social & faglig"],
    ("school", "leaving", "leaving"): [
        "completed", "afgang", "afsluttet", "gennemført", "left", "udmeldt",
        "udmeldelse", "completed grade", "left school", "gennemfoert"],
}


def test_every_documented_value_word_is_read(make_hub):
    """Every word a table lists for a value (English and Danish, in the
    case it is written there, and upper-cased as an export may write it)
    is read: a file of one row per word imports with no rejected row and
    as many events as rows."""
    doc = (ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    doc = doc[doc.index("<!-- agencies:begin"):]
    danish = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})
    # Each quoted word, and each of a quoted list (`yes ja y j x 1 true`).
    quoted = {x.translate(danish) for line in doc.splitlines()
              if not line.startswith("```")
              for w in re.findall(r"`([^`]+)`", line)
              for x in [w] + w.split()}
    for (_, _, column), words in WORDS.items():
        listed = [w for w in words
                  if w.translate(danish) not in quoted and " og " not in
                  w and " and " not in w and not re.search("[+&]", w)]
        assert listed in ([], ["faglige", "sociale"]), (column, listed)
    hub = agencies_hub(make_hub)
    days = [f"2026-{m:02d}-{d:02d}" for m in range(1, 13)
            for d in range(1, 29)]
    for (adapter, kind, column), words in WORDS.items():
        good = dict(GOOD[(adapter, kind)])
        if column in ("ready",):     # a ready pupil has no area
            good.update(areas="", not_ready_academic="")
        if column == "consent":
            good.update(consent_scope="")
        header = list(good)
        # The column the day goes in: part of each kind's natural key, so
        # that no two rows are one record.
        day_col = {"status": "date", "referral": "date", "benefit": "start",
                   "assignment": "from", "desk": "from",
                   "absence": "period_start", "readiness": "date",
                   "leaving": "date"}[kind]
        rows = []
        for i, word in enumerate(words + [w.upper() for w in words]):
            row = dict(good, **{column: word, day_col: days[i]})
            if kind == "absence":
                row["period_end"] = days[i]
            if kind == "leaving":
                row["school"] = f"school-{i}"   # a pupil leaves a grade once
            if kind == "status":
                starts = ("start", "started", "enrolled", "enrolment",
                          "optaget", "optagelse", "påbegyndt",
                          "paabegyndt", "begyndt")
                row["start"] = days[i] if word.lower() in starts \
                    else "2025-08-11"
            if column == "consent" and word.lower() in (
                    "yes", "ja", "given", "givet", "y", "j", "x", "1",
                    "true"):
                row["consent_scope"] = "alt"
            rows.append(";".join(row[c] for c in header))
        path = write(hub, f"words-{adapter}-{column}.csv",
                     ";".join(header) + "\n" + "\n".join(rows) + "\n")
        r, lines = import_json(hub, adapter, path)
        assert r.rc == EXIT_OK, (column, str(r))
        assert (lines[0]["kind"], lines[0]["rows"], lines[0]["events"]) == \
            (kind, len(rows), len(rows)), (column, lines)


def test_the_seeded_municipality_s_bad_rows_are_the_ones_rejected(make_hub,
                                                                  tmp_path):
    """ADAPTERS.md, "The seeded synthetic municipality": cohort.json says
    per file the rows, the valid rows and, with --bad-rows N, the lines of
    the N bad rows mixed in, which its adapter rejects: every file, given
    to the adapter cohort.json names, rejects exactly those lines and
    imports the valid rows as events. A bad row is a spoilt copy of a
    good one, so a file of its header alone (this seed's FGU file) has
    none, as the doc and --help say."""
    gen = [sys.executable, str(ROOT / "deploy" / "gen_cohort.py")]
    out = tmp_path / "cohort"
    subprocess.run(gen + ["--out", str(out), "--pupils", "30", "--weeks",
                          "1", "--seed", "7", "--bad-rows", "2", "--quiet"],
                   check=True, timeout=120)
    cohort = json.loads((out / "cohort.json").read_text())
    hub = make_hub(agencies={a["id"]: a["types"]
                             for a in cohort["agencies"]})
    files, empty = 0, []
    for agency in cohort["agencies"]:
        for f in agency["files"]:
            data = (out / f["file"]).read_bytes()
            for cpr in re.findall(rb"\b(\d{6})-?(\d{4})\b", data):
                hub.cprs.add(b"".join(cpr).decode())
            path = hub.inputs_dir / f["file"]
            path.write_bytes(data)
            r = run_adapter(hub, agency["adapter"], "import", path,
                            agency=agency["id"])
            want = sorted(b["line"] for b in f["bad_rows"])
            got = sorted(int(n) for n in re.findall(
                r"^%s:(\d+): " % re.escape(str(path)), r.stderr, re.M))
            assert got == want, (f["file"], got, want, r.stderr)
            assert r.rc == (EXIT_ROWS_REJECTED if want else EXIT_OK), \
                (f["file"], str(r))
            s = r.summary
            assert (s["rows"], s["events"], s["rejected_rows"]) == \
                (f["rows"], f["valid_rows"], len(want)), (f, s)
            assert len(want) == (2 if f["valid_rows"] else 0), f
            if not f["valid_rows"]:
                empty.append(f["file"])
            files += 1
    assert files >= 10
    assert empty == ["college-fgu-vestegnen.csv"], empty
    text = " ".join(subprocess.run(gen + ["--help"], capture_output=True,
                                   text=True, timeout=60).stdout.split())
    assert "so a file without good rows" in text and "gets none" in text, \
        text


ABSENCE_HEADER = "cpr;school;period_start;period_end;lessons_absent;" \
    "lessons_expected;kind;grade\n"


def absence_rows(days, absent="1", school="280017"):
    return "".join(f"{dashed(CPR)};{school};2026-03-{d:02d};2026-03-{d:02d};"
                   f"{absent};30;ulovligt;8b\n" for d in days)


def test_a_damaged_outbox_stops_every_command_and_is_left_as_it_was(
        make_hub):
    """ADAPTERS.md, "A damaged outbox": a data.mdb cut short, emptied to 0
    bytes or no LMDB file at all stops import, flush and watch with exit
    3 before anything is read (an input's bad row makes no rejects file),
    with the message the doc quotes, the file unchanged and no new outbox
    made in its place; put back, the outbox delivers what it held."""
    hub = make_hub(start=False)
    hub.cprs.add(CPR)
    held = hub.inputs_dir / "held.csv"
    held.write_text(ABSENCE_HEADER + absence_rows(range(2, 30)))
    r = hub.adapter("import", held, timeout=0)
    assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 28), str(r)
    outbox = hub.outbox_dir()
    data = outbox / "data.mdb"
    whole = data.read_bytes()
    bad = hub.inputs_dir / "bad.csv"
    bad.write_text(ABSENCE_HEADER + absence_rows([1], absent="x"))
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    (drop / "w.csv").write_text(ABSENCE_HEADER + absence_rows([1]))
    hint = ("move the outbox aside and import the agency's exports again "
            "(ADAPTERS.md, \"A damaged outbox\")")
    cases = [
        (whole[:len(whole) // 2],
         f"adapter-school: {outbox}/data.mdb is damaged: "
         f"{len(whole) // 2} bytes, but its LMDB header counts "
         f"{len(whole)} (cut short); {hint}"),
        (b"", f"adapter-school: {outbox}/data.mdb is empty (0 bytes); "
              f"{hint}"),
        (b"\x00not lmdb" * 1024,
         f"adapter-school: {outbox}: cannot open LMDB environment: "
         "MDB_INVALID: File is not an LMDB file"),
    ]
    for content, said in cases:
        data.write_bytes(content)
        for args in (("import", bad), ("flush",), ("watch", drop)):
            r = hub.adapter(*args, settle=0)
            assert r.rc == EXIT_FATAL, (args, str(r))
            assert said in r.stderr.splitlines(), (args, said, r.stderr)
            assert data.read_bytes() == content, args
            assert sorted(p.name for p in outbox.iterdir()) == \
                ["adapter.lock", "data.mdb", "lock.mdb", "origins"], args
            assert not (hub.inputs_dir / "bad.csv.rejects.csv").exists()
            assert (drop / "w.csv").exists() and \
                not (drop / "done").exists(), args
    data.write_bytes(whole)
    hub.start()
    r = hub.adapter("flush")
    assert (r.rc, r.summary["accepted"], r.summary["pending"]) == \
        (EXIT_OK, 28, 0), str(r)


def notify_socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(15 * hubtest.SLOW)
    return sock


def test_watch_tells_systemd_when_it_is_ready_and_when_it_stops(
        make_hub, tmp_path, monkeypatch):
    """ADAPTERS.md, the unit: Type=notify, ready once the outbox is open
    and the directory watched. The watcher sends READY=1 once it logs
    ADP-WATCH watching DIR, STOPPING=1 on SIGTERM (exit 0); a watcher
    that cannot watch its directory never says it is ready."""
    hub = make_hub()
    sock = notify_socket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    with hub.adapter_running("watch", drop, settle=0) as proc:
        assert sock.recv(256) == b"READY=1"
        assert (hub.outbox_dir() / "data.mdb").exists()
        proc.send_signal(signal.SIGTERM)
        assert sock.recv(256) == b"STOPPING=1"
        r = hub.adapter_finish(proc)
    assert r.rc == EXIT_OK, str(r)
    assert f"ADP-WATCH watching {drop} " in r.stderr, r.stderr
    r = hub.adapter("watch", drop / "gone", settle=0)
    assert r.rc == EXIT_FATAL, str(r)
    sock.settimeout(0.5)
    said = []
    try:
        while True:
            said.append(sock.recv(256))
    except socket.timeout:
        pass
    assert b"READY=1" not in said, said
    sock.close()


def sighup_ignored(pid):
    """Whether the process has set SIGHUP to be ignored (its SigIgn mask
    in /proc): a signal sent before that would end it."""
    with open(f"/proc/{pid}/status") as f:
        mask = next(ln for ln in f if ln.startswith("SigIgn:"))
    return int(mask.split()[1], 16) & (1 << (signal.SIGHUP - 1))


def test_sighup_is_ignored_by_import_and_flush(make_hub):
    """ADAPTERS.md: SIGHUP is ignored (import, flush and watch alike).
    An import or a flush waiting for a hub that is down goes on after a
    SIGHUP and gives up only at its timeout, exit 2, the events kept."""
    hub = make_hub(start=False)
    hub.cprs.add(CPR)
    path = hub.inputs_dir / "hup.csv"
    path.write_text(ABSENCE_HEADER + absence_rows([2, 3]))
    for args in (("import", path), ("flush",)):
        began = time.monotonic()
        with hub.adapter_running(*args, timeout=3) as proc:
            hubtest.wait_for(lambda: sighup_ignored(proc.pid), 10,
                             "SIGHUP ignored")
            proc.send_signal(signal.SIGHUP)
            r = hub.adapter_finish(proc)
        assert r.rc == EXIT_PENDING, (args, str(r))
        assert time.monotonic() - began >= 3, args
        assert "ADP-TIMEOUT" in r.stderr and "ADP-STOP" not in r.stderr, \
            (args, r.stderr)
        assert r.summary["pending"] == 2, (args, r.summary)


def test_every_spelling_of_the_encoding_setting(make_hub):
    """ADAPTERS.md: encoding takes utf-8, cp1252, latin1, cp850 and also
    utf8, windows-1252, latin-1, iso-8859-1 and ibm850, in any case. Each
    reads the file in that encoding (its per-file line says which, not
    detected), so a code page 850 export read with IBM850 keeps its ø in
    the rejects file, which then begins with a byte order mark."""
    hub = agencies_hub(make_hub)
    text = ABSENCE_HEADER + absence_rows([2], school="Nørre Skole") + \
        absence_rows([3], absent="x", school="Nørre Skole")
    for setting, used, written in (
            ("UTF8", "utf-8", "utf-8"), ("Windows-1252", "cp1252", "cp1252"),
            ("LATIN-1", "latin1", "latin-1"),
            ("iso-8859-1", "latin1", "latin-1"),
            ("IBM850", "cp850", "cp850"), ("CP850", "cp850", "cp850"),
            ("Utf-8", "utf-8", "utf-8")):
        path = write(hub, f"enc-{setting}.csv", text, encoding=written)
        r, lines = import_json(hub, "school", path, encoding=setting)
        assert r.rc == EXIT_ROWS_REJECTED, (setting, str(r))
        assert (lines[0]["encoding"], lines[0]["encoding_detected"]) == \
            (used, False), (setting, lines[0])
        rejects = (hub.inputs_dir / f"enc-{setting}.csv.rejects.csv") \
            .read_bytes()
        bom = b"\xef\xbb\xbf" if used != "utf-8" else b""
        assert rejects.startswith(bom + b"line;column;reason;cpr;"), rejects
        assert "Nørre Skole" in rejects.decode("utf-8-sig"), (setting,
                                                               rejects)


def test_adp_repeat_names_a_repeat_of_a_row_this_run_queued(make_hub):
    """ADAPTERS.md, "Re-imports and corrections": a row repeated within
    one import is a duplicate, logged ADP-REPEAT FILE:LINE when an
    earlier row of the run queued its event, in one file or the next of
    the run. Its repeat in a file imported again (the row sent, or still
    pending from an earlier run) is counted as a duplicate as the row
    itself is, without the warning, as the doc and its log table say."""
    hub = make_hub(start=False)
    hub.cprs.add(CPR)
    path = hub.inputs_dir / "twice.csv"
    path.write_text(ABSENCE_HEADER + absence_rows([2, 2, 3]))
    again = hub.inputs_dir / "again.csv"
    again.write_text(ABSENCE_HEADER + absence_rows([3]))

    def repeats(r):
        return [ln.split(" ADP-REPEAT ", 1)[1].split(": ", 1)[0]
                for ln in r.stderr.splitlines() if " ADP-REPEAT " in ln]

    r = hub.adapter("import", path, again, timeout=0)
    assert r.rc == EXIT_PENDING, str(r)
    assert repeats(r) == [f"{path}:3", f"{again}:2"], r.stderr
    assert (r.summary["queued"], r.summary["duplicates"]) == (2, 2)
    # Still pending from that run, then sent: counted, not logged.
    r = hub.adapter("import", path, timeout=0)
    assert (r.rc, repeats(r), r.summary["duplicates"]) == \
        (EXIT_PENDING, [], 3), str(r)
    hub.start()
    for _ in range(2):
        r = hub.adapter("import", path)
        assert (r.rc, repeats(r), r.summary["queued"],
                r.summary["duplicates"]) == (EXIT_OK, [], 0, 3), str(r)
    table = (ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    row = next(ln for ln in table.splitlines()
               if ln.startswith("| `ADP-REPEAT` |"))
    assert "whose event the run queued" in row and "not logged" in row, row


def test_a_run_that_breaks_off_at_a_file_says_so_for_it_and_the_rest(
        make_hub):
    """ADAPTERS.md, "Output and exit codes": a file whose import broke off
    (its rejects file a symbolic link: "fatal") has its counts so far,
    queued 0, and its text line ends " (not complete)"; a file after it
    is "not imported: the run stopped before it" (JSON: "not_imported",
    that "error", format, encoding, encoding_detected and kind null,
    counts 0); the file before it stays queued, and the next flush sends
    it. Exit 3, the link and the file it names left as they were."""
    hub = make_hub()
    hub.cprs.update([CPR, CPR2])
    first = hub.inputs_dir / "a.csv"
    first.write_text(ABSENCE_HEADER + absence_rows([2]))
    broken = hub.inputs_dir / "b.csv"
    broken.write_text(ABSENCE_HEADER + absence_rows([3], absent="x") +
                      absence_rows([4]))
    after = hub.inputs_dir / "c.csv"
    after.write_text(ABSENCE_HEADER + absence_rows([5]).replace(
        dashed(CPR), dashed(CPR2)))
    os.symlink("elsewhere.txt", hub.inputs_dir / "b.csv.rejects.csv")
    cmd = [a for a in hub.adapter_cmd("import", first, broken, after)
           if a != "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=60 * hubtest.SLOW)
    assert r.returncode == EXIT_FATAL, r.stderr
    assert r.stdout.splitlines()[:3] == [
        f"file {first}: csv, utf-8 (detected), kind absence: rows 1, "
        "events 1, queued 1 (corrections 0), duplicates 0, rejected rows 0",
        f"file {broken}: csv, utf-8 (detected), kind absence: rows 1, "
        "events 0, queued 0 (corrections 0), duplicates 0, rejected rows 1 "
        "(not complete)",
        f"file {after}: not imported: the run stopped before it"], r.stdout
    r = hub.adapter("import", first, broken, after)
    assert r.rc == EXIT_FATAL, str(r)
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [ln.get("status") for ln in lines] == \
        ["done", "fatal", "not_imported", None], lines
    assert lines[1]["queued"] == 0, lines[1]
    assert lines[2] == {
        "file": str(after), "status": "not_imported",
        "error": "the run stopped before it", "format": None,
        "encoding": None, "encoding_detected": None, "kind": None,
        "rows": 0, "events": 0, "queued": 0, "corrections": 0,
        "duplicates": 0, "rejected_rows": 0}, lines[2]
    assert lines[3]["pending"] == 1, lines[3]
    assert os.path.islink(hub.inputs_dir / "b.csv.rejects.csv")
    assert not (hub.inputs_dir / "elsewhere.txt").exists()
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 1, 0), str(f)


def test_no_end_written_any_way_is_one_and_the_same_event(make_hub):
    """ADAPTERS.md: an optional end date (`to`, `stop`,
    `consent_expires`) that is empty or 9999-12-31, in any of the three
    date forms, means no end, and a missing optional column is an empty
    one: each such spelling of a record is the same event, so after the
    first every other is a duplicate and nothing more is stored."""
    hub = agencies_hub(make_hub)
    spellings = {
        ("jobcenter", "cpr;jobcenter;benefit;start;stop"): [
            f"{CPR};jc;cash;01-01-2026;", f"{CPR};jc;cash;01-01-2026;"
            "31.12.9999", f"{CPR};jc;cash;2026-01-01;31-12-9999"],
        ("youthunit", "cpr;caseworker;from;to"): [
            f"{CPR};cw-anna;01-01-2026;", f"{CPR};cw-anna;2026-01-01;"
            "9999-12-31", f"{CPR};cw-anna;01.01.2026;31.12.9999"],
        ("youthunit", "desk;caseworker;from;to;team_lead"): [
            "duty-desk;cw-anna;01-01-2026;;", "duty-desk;cw-anna;"
            "2026-01-01;31-12-9999;nej"],
        ("addiction", "cpr;service;date;stage;consent;consent_scope;"
                      "consent_expires"): [
            f"{CPR};rmc;2026-09-14;henvist;ja;alt;",
            f"{CPR};rmc;14-09-2026;henvist;ja;alt;9999-12-31",
            f"{CPR};rmc;14.09.2026;henvist;ja;alt;31.12.9999"],
    }
    for n, ((adapter, header), rows) in enumerate(spellings.items()):
        for i, row in enumerate(rows):
            path = write(hub, f"noend-{n}-{i}.csv", f"{header}\n{row}\n")
            r, lines = import_json(hub, adapter, path)
            assert r.rc == EXIT_OK, (row, str(r))
            assert (lines[0]["queued"], lines[0]["duplicates"]) == \
                ((1, 0) if i == 0 else (0, 1)), (row, lines[0])
        # Without the end column at all: the same record again.
        short = header.rsplit(";", 1)[0]
        first = rows[0].rsplit(";", 1)[0]
        path = write(hub, f"noend-{n}-none.csv", f"{short}\n{first}\n")
        r, lines = import_json(hub, adapter, path)
        assert (r.rc, lines[0]["queued"], lines[0]["duplicates"]) == \
            (EXIT_OK, 0, 1), (short, str(r))


def test_replacing_the_key_as_the_doc_says_keeps_the_outbox_and_ids(
        make_hub):
    """ADAPTERS.md, "Replacing the adapter's key", done as it says: a new
    pair from `hubctl keygen` in another keys directory written into the
    existing file's `public` and `secret` lines (its storage_key and
    hash_key kept), the new public key registered with `hubctl
    register-agency AGENCY --key NEW.key --types ...`, and run again: the
    outbox opens and what it held is delivered, and rows sent under the
    old key are duplicates, not new events."""
    hub = make_hub()
    hub.cprs.update([CPR, CPR2])
    sent = hub.inputs_dir / "sent.csv"
    sent.write_text(ABSENCE_HEADER + absence_rows([2]))
    held = hub.inputs_dir / "held.csv"
    held.write_text(ABSENCE_HEADER + absence_rows([3]).replace(
        dashed(CPR), dashed(CPR2)))
    assert hub.adapter("import", sent).rc == EXIT_OK
    hub.stop()
    r = hub.adapter("import", held, timeout=0)
    assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 1), str(r)
    new_dir = hub.tmp / "new-keys"
    new_dir.mkdir()
    hub.hubctl("keygen", "--keys_dir", str(new_dir), "school-a",
               config=False)
    key_file = hub.keys_dir / "school-a.key_secret"
    text = key_file.read_text()
    new = (new_dir / "school-a.key_secret").read_text()
    for name in ("public", "secret"):
        pattern = rf"(?m)^{name} = .*$"
        text = re.sub(pattern, re.search(pattern, new).group(0), text)
    key_file.write_text(text)
    hub.hubctl("register-agency", "school-a", "--key",
               str(new_dir / "school-a.key"), "--types", "absence")
    hub.start()
    r = hub.adapter("flush")
    assert (r.rc, r.summary["accepted"], r.summary["pending"]) == \
        (EXIT_OK, 1, 0), str(r)
    r = hub.adapter("import", sent, held)
    assert (r.rc, r.summary["queued"], r.summary["duplicates"]) == \
        (EXIT_OK, 0, 2), str(r)
    assert hub.stats()["log_events"] == 2


def test_the_cpr_column_marks_an_anonymous_row_in_either_word(make_hub):
    """ADAPTERS.md, adapter-addiction: a row is anonymous when
    `anonymous` is yes (any yes word) or the cpr column says `anonym` or
    `anonymous`, in any case; `anonymous` no beside `anonym` in cpr, and
    an empty cpr not marked, are refused with their reasons."""
    hub = agencies_hub(make_hub)
    rows = [";y;R1", ";J;R2", ";TRUE;R3", ";x;R4", "Anonym;;R5",
            "ANONYMOUS;;R6", "anonymous;ja;R7", ";nej;R8", "anonym;nej;R9"]
    path = write(hub, "anonymous.csv",
                 "cpr;anonymous;record_id;service;date;stage;consent\n" +
                 "".join(f"{r};rmc;2026-09-10;henvist;\n" for r in rows))
    r, lines = import_json(hub, "addiction", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (lines[0]["events"], lines[0]["rejected_rows"]) == (7, 2), lines
    assert f"{path}:9: column cpr: cpr is empty; for anonymous counselling " \
        "write yes in anonymous (or anonym in cpr)" in r.stderr, r.stderr
    assert f"{path}:10: column anonymous: anonymous is no but cpr says " \
        "anonym" in r.stderr, r.stderr
    assert not [e for e in stored_events(hub) if e["person"]]
    table = (ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    row = next(ln for ln in table.splitlines()
               if ln.startswith("| cpr | cprnr, cpr_nr | yes (the column)"))
    assert "`anonym`" in row and "`anonymous`" in row, row


def stored_events(hub):
    p = hub.hubctl("log", "--json")
    return [json.loads(ln) for ln in p.stdout.splitlines()
            if ln.startswith("{")]
