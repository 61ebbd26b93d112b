"""116 ADAPTERS.md read a fourth time as each agency's IT staff read it:
the second cases of its sentences that the earlier agency tests (06,
11-16, 20-25, 52, 87, 103) leave unasserted, each checked on the real
adapters against a real hub."""

import json
import os
import signal
import subprocess
from pathlib import Path

import hubtest
from agencytest import TYPES, run_adapter
from hubtest import EXIT_FATAL, EXIT_OK, EXIT_PENDING, EXIT_ROWS_REJECTED

def file_lines(result):
    """The per-file lines of an --json run (the summary left out)."""
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith('{"file"')]


ABSENCE = ("cpr;school;period_start;period_end;lessons_absent;"
           "lessons_expected;kind")


def test_two_columns_for_one_are_the_message_wherever_they_stand(make_hub):
    """ADAPTERS.md, "Whole-file problems": two header columns that mean
    the same are a whole-file problem, `columns "cpr" and "CPRnr" (1 and
    9) both mean cpr; keep one`. Where the pair stands in the header
    does not change what the file is: a clash in the first columns is
    that message alone too, not a kind the file is not ("closest is
    readiness"), in CSV and in JSON Lines alike."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cases = [
        ("front.csv", "cpr;cprnr;" + ABSENCE[4:] + "\n",
         'columns "cpr" and "cprnr" (1 and 2) both mean cpr; keep one'),
        ("back.csv", ABSENCE + ";CPRnr\n",
         'columns "cpr" and "CPRnr" (1 and 8) both mean cpr; keep one'),
        ("fra.csv", "cpr;school;period_start;fra;period_end;"
         "lessons_absent;lessons_expected;kind\n",
         'columns "period_start" and "fra" (3 and 4) both mean '
         'period_start; keep one'),
        ("keys.jsonl", '{"cpr": null, "cprnr": null, "skole": "1", '
         '"fra": null, "til": null, "fravær": 1, "lektioner": 2, '
         '"type": "alle"}\n',
         'keys "cpr" and "cprnr" both mean cpr; keep one'),
    ]
    for name, text, message in cases:
        path = hub.inputs_dir / name
        path.write_text(text)
        r = run_adapter(hub, "school", "import", path, agency="school-a")
        assert r.rc == EXIT_FATAL, r
        where = f"{path}:1" if name.endswith(".csv") else str(path)
        assert f"adapter-school: {where}: {message}\n" in r.stderr, r
        assert "closest is" not in r.stderr, r
        assert file_lines(r)[0]["error"] == message, r


def test_detected_is_said_when_the_adapter_chose_the_encoding(make_hub):
    """ADAPTERS.md, "Output and exit codes": the per-file line says
    `(detected)` (`"encoding_detected": true`) only when the adapter
    chose the encoding itself: under `encoding = auto`, or where a file
    begins with the UTF-8 byte order mark, which makes it UTF-8 whatever
    `encoding` says ("Encodings"); an encoding the setting gave is said
    without it. And a leaving row's empty grade names the two levels as
    the table does ("9 or 10")."""
    hub = make_hub(agencies={"school-a": TYPES["school"]})
    cprs = hubtest.CprGen(11601).take(3)
    hub.cprs.update(cprs)
    def row(cpr):
        return (f"{hubtest.dashed(cpr)};Skole på Ærø;2026-03-02;2026-03-06;"
                "4;30;ulovligt\n")
    bom = hub.inputs_dir / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + f"{ABSENCE}\n{row(cprs[0])}".encode())
    plain = hub.inputs_dir / "plain.csv"
    plain.write_bytes(f"{ABSENCE}\n{row(cprs[1])}".encode("cp1252"))
    leaving = hub.inputs_dir / "leaving.csv"
    leaving.write_text("cpr;school;grade;date;leaving\n"
                       f"{hubtest.dashed(cprs[2])};280017;;2026-06-26;afgang\n")
    conf = hub.school_conf("school-a", encoding="cp1252")
    p = subprocess.run([hubtest.binary("adapter-school"), "--config",
                        str(conf), "import", str(bom), str(plain),
                        str(leaving)],
                       capture_output=True, text=True,
                       timeout=60 * hubtest.SLOW)
    assert p.returncode == EXIT_ROWS_REJECTED, p
    lines = p.stdout.splitlines()
    assert lines[0] == (f"file {bom}: csv, utf-8 (detected), kind absence: "
                        "rows 1, events 1, queued 1 (corrections 0), "
                        "duplicates 0, rejected rows 0"), lines
    assert lines[1] == (f"file {plain}: csv, cp1252, kind absence: rows 1, "
                        "events 1, queued 1 (corrections 0), duplicates 0, "
                        "rejected rows 0"), lines
    assert (f"{leaving}:2: column grade: grade is empty; it must be 9 or "
            "10\n") in p.stderr, p.stderr
    r = run_adapter(hub, "school", "import", bom, plain, agency="school-a",
                    encoding="cp1252")
    assert r.rc == EXIT_OK, r
    assert [(f["encoding"], f["encoding_detected"], f["duplicates"])
            for f in file_lines(r)] == [("utf-8", True, 1),
                                        ("cp1252", False, 1)], r


def test_a_signal_mid_file_leaves_the_next_file_not_imported(make_hub):
    """ADAPTERS.md, "Output and exit codes": a file the run did not
    import still has its line, `"status": "not_imported"` "because the
    run stopped before it" (its format, encoding and kind null, its
    counts 0), without --json `file FILE: not imported: REASON`; the
    file being read says `"stopped"`, `"queued": 0`, and the run exits
    3 ("A file is queued whole or not at all")."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cpr = hubtest.CprGen(11603).take(1)[0]
    hub.cprs.add(cpr)
    # Enough bad rows that their lines fill the stderr pipe: the
    # adapter waits on it, inside the first file, until it is read.
    first = hub.inputs_dir / "uge19.csv"
    first.write_text(ABSENCE + "\n" + "".join(
        f"{hubtest.dashed(cpr)};280017;2026-03-02;2026-03-06;x;30;alle\n"
        for _ in range(4000)))
    second = hub.inputs_dir / "uge20.csv"
    second.write_text(ABSENCE + "\n")
    for json_lines in (True, False):
        cmd = hub.adapter_cmd("import", first, second)
        if not json_lines:
            cmd.remove("--json")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            while "column lessons_absent" not in p.stderr.readline():
                assert p.poll() is None
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60 * hubtest.SLOW)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        assert p.returncode == EXIT_FATAL, (out, err[-2000:])
        assert (f"adapter-school: interrupted: nothing of {first} was "
                "queued; import it again") in err, err[-2000:]
        lines = out.splitlines()
        if json_lines:
            stopped, left, summary = map(json.loads, lines)
            assert (stopped["status"], stopped["queued"]) == ("stopped", 0)
            assert left == {
                "file": str(second), "status": "not_imported",
                "error": "the run stopped before it", "format": None,
                "encoding": None, "encoding_detected": None, "kind": None,
                "rows": 0, "events": 0, "queued": 0, "corrections": 0,
                "duplicates": 0, "rejected_rows": 0}, left
            assert (summary["queued"], summary["pending"]) == (0, 0)
        else:
            assert lines[0].startswith(f"file {first}: csv, utf-8 "
                                       "(detected), kind absence: rows ")
            assert lines[0].endswith(" (not complete)"), lines
            assert lines[1] == (f"file {second}: not imported: the run "
                                "stopped before it"), lines


def test_a_stray_quote_and_a_cpr_in_a_name_are_bad_rows_as_quoted(
        make_hub):
    """ADAPTERS.md, "Input files" and "What every kind shares": a stray
    opening quote makes the lines after it one bad row, "a quoted value
    is not closed before the end of the file" when no quote follows, its
    column empty (no one column is to blame) and the row in the rejects
    file as one quoted value; a school that reads as a CPR is "school
    looks like a CPR number; ...", never quoting it."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cprs = hubtest.CprGen(11604).take(3)
    hub.cprs.update(cprs)
    path = hub.inputs_dir / "uge21.csv"
    rows = [f"{hubtest.dashed(cprs[0])};{cprs[1]};2026-03-02;2026-03-06;"
            "4;30;alle",
            f"{hubtest.dashed(cprs[2])};\"Nordskolen;2026-03-02;2026-03-06;"
            "4;30;alle",
            f"{hubtest.dashed(cprs[0])};280017;2026-03-02;2026-03-06;4;30;"
            "alle"]
    path.write_text(ABSENCE + "\n" + "\n".join(rows) + "\n")
    r = run_adapter(hub, "school", "import", path, agency="school-a")
    assert r.rc == EXIT_ROWS_REJECTED, r
    bad = [ln for ln in r.stderr.splitlines() if ln.startswith(str(path))]
    assert bad == [
        f"{path}:2: column school: school looks like a CPR number; it must "
        "be an id or a name, never a person's number",
        f"{path}:3: a quoted value is not closed before the end of the "
        "file"], r.stderr
    rejects = (hub.inputs_dir / "uge21.csv.rejects.csv").read_text()
    # The row as it was, its last line end included, then the quote.
    assert rejects.splitlines()[-3:] == [
        "3;;a quoted value is not closed before the end of the file;\""
        + rows[1].replace('"', '""'), rows[2], '"'], rejects
    assert file_lines(r)[0]["rows"] == 2, r


def test_not_complete_ends_only_the_line_of_an_import_that_broke_off(
        make_hub):
    """ADAPTERS.md, "Output and exit codes": without --json, ` (not
    complete)` ends the line of a file whose import began and did not
    finish (here `fatal`: its name leaves no room for the rejects
    file's); a file not imported at all reads `file FILE: failed:
    REASON` or `file FILE: not imported: REASON`, nothing after."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cpr = hubtest.CprGen(11605).take(1)[0]
    hub.cprs.add(cpr)
    bad = (f"{ABSENCE}\n{hubtest.dashed(cpr)};280017;2026-03-02;"
           "2026-03-06;40;30;alle\n")
    long = hub.inputs_dir / ("u" * 240 + ".csv")
    long.write_text(bad)
    empty = hub.inputs_dir / "empty.csv"
    empty.write_text("")
    quiet = hub.inputs_dir / "quiet.csv"
    quiet.write_text(ABSENCE + "\n")
    for files, want in (
            ([long], [f"file {long}: csv, utf-8 (detected), kind absence: "
                      "rows 1, events 0, queued 0 (corrections 0), "
                      "duplicates 0, rejected rows 1 (not complete)"]),
            ([empty, quiet],
             [f"file {empty}: failed: the file is empty; a header row "
              "naming the columns is required",
              f"file {quiet}: not imported: 1 other file(s) of the run "
              "cannot be imported as a whole"])):
        cmd = hub.adapter_cmd("import", *files)
        cmd.remove("--json")
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=60 * hubtest.SLOW)
        assert p.returncode == EXIT_FATAL, p
        assert p.stdout.splitlines()[:-1] == want, p.stdout
    assert sorted(p.name for p in hub.inputs_dir.iterdir()) == sorted(
        [long.name, empty.name, quiet.name])


def sigterm_blocked(pid):
    """Whether the process has SIGTERM blocked (/proc/PID/status)."""
    [mask] = [line.split()[1] for line in
              Path(f"/proc/{pid}/status").read_text().splitlines()
              if line.startswith("SigBlk:")]
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def stopped(proc, sig, ready, read=True):
    """Wait until ready(the stderr lines read so far; none read unless
    read), send sig, and return (exit code, stdout, stderr)."""
    seen = []
    try:
        while not ready(seen):
            assert proc.poll() is None, "".join(seen)
            if read:
                seen.append(proc.stderr.readline())
            else:
                hubtest.wait_for(lambda: ready(seen), 30, "ready")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30 * hubtest.SLOW)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, "".join(seen) + err


def test_a_stopped_delivery_exits_2_and_the_outbox_keeps_the_events(
        make_hub):
    """ADAPTERS.md, "Output and exit codes": import or flush stopped by
    SIGINT or SIGTERM once every file was queued exits 2, `ADP-STOP
    interrupted; the outbox keeps what was not acknowledged`; "Running
    unattended": watch stops on SIGTERM with exit 0, also when whatever
    started it had SIGTERM blocked (it unblocks it at start), its totals
    in ADP-STOP. The events are delivered by the next flush."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cprs = hubtest.CprGen(11606).take(2)
    hub.cprs.update(cprs)
    path = hub.inputs_dir / "uge22.csv"
    path.write_text(ABSENCE + "\n" + "".join(
        f"{hubtest.dashed(c)};280017;2026-03-02;2026-03-06;4;30;alle\n"
        for c in cprs))
    stop_line = ("ADP-STOP interrupted; the outbox keeps what was not "
                 "acknowledged")
    # The hub is not running: the events wait, and the run is stopped.
    queued = f"ADP-FILE {path}: 2 rows, 0 rejected, 2 queued"
    p = hub.adapter_popen("import", path, timeout=600)
    rc, out, err = stopped(p, signal.SIGINT,
                           lambda seen: any(queued in ln for ln in seen))
    assert rc == EXIT_PENDING, (out, err)
    assert stop_line in err and "ADP-PENDING 2 events stay in the " \
        "outbox: run again or flush" in err, err
    line, summary = map(json.loads, out.splitlines())
    assert (line["status"], line["queued"]) == ("done", 2), line
    assert (summary["accepted"], summary["pending"]) == (0, 2), summary

    lock = str(hub.outbox_dir() / "adapter.lock")
    p = hub.adapter_popen("flush", timeout=600)

    def holds_the_outbox(seen):
        fds = Path(f"/proc/{p.pid}/fd")
        return any(os.path.realpath(fd) == lock for fd in fds.iterdir())
    rc, out, err = stopped(p, signal.SIGTERM, holds_the_outbox, read=False)
    assert rc == EXIT_PENDING, (out, err)
    assert stop_line in err, err
    assert json.loads(out)["pending"] == 2, out

    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    cmd = hub.adapter_cmd("watch", drop)
    p = subprocess.Popen(
        ["/usr/bin/python3", "-c", "import os, signal, sys; "
         "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}); "
         "os.execvp(sys.argv[1], sys.argv[1:])", *cmd],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def watching(seen):
        if not any("ADP-WATCH watching" in ln for ln in seen):
            return False
        assert not sigterm_blocked(p.pid)
        return True
    rc, out, err = stopped(p, signal.SIGTERM, watching)
    assert rc == EXIT_OK, err
    assert out == ""
    assert ("ADP-STOP stopping: 0 rows imported, 0 events accepted by the "
            "hub, 2 pending in the outbox") in err, err

    hub.start()
    r = hub.adapter("flush")
    assert (r.rc, r.summary["accepted"], r.summary["pending"]) == \
        (EXIT_OK, 2, 0), r


def test_one_rejects_file_takes_header_lines_alike_character_for_character(
        make_hub):
    """ADAPTERS.md, "The rejects setting": every CSV file of a run with
    one rejects file must have the same header line, as read, character
    for character: a byte order mark, CRLF line ends or Windows-1252 make
    no difference, a quoted, re-cased or padded name, or a separator at
    the end, does ("FILE: its header line is not the one of FIRST; ...",
    exit 3, nothing queued)."""
    hub = make_hub(start=False, agencies={"jc-a": TYPES["jobcenter"]})
    cprs = iter(hubtest.CprGen(11607).take(8))
    header = "CPRnr;Jobcenter;Ydelse;Fra;Til;Ophørsårsag"

    def export(name, head, data=None, encoding="utf-8", eol="\n"):
        cpr = next(cprs)
        hub.cprs.add(cpr)
        row = (f"{hubtest.dashed(cpr)};jc-x;kontanthjælp;01-02-2026;"
               "31-01-2026;")
        path = hub.inputs_dir / name
        path.write_bytes((data or b"") + (head + eol + row + eol)
                         .encode(encoding))
        return path
    first = export("first.csv", header)
    alike = [export("bom.csv", header, data=b"\xef\xbb\xbf"),
             export("crlf.csv", header, eol="\r\n"),
             export("cp1252.csv", header, encoding="cp1252")]
    rejects = hub.inputs_dir / "all.csv"
    r = run_adapter(hub, "jobcenter", "import", first, *alike,
                    agency="jc-a", rejects=rejects)
    assert r.rc == EXIT_ROWS_REJECTED, r
    assert [f["rejected_rows"] for f in file_lines(r)] == [1, 1, 1, 1], r
    assert len(rejects.read_text(encoding="utf-8-sig").splitlines()) == 5
    for name, head in (("quoted.csv", '"CPRnr";' + header[6:]),
                       ("cased.csv", header.upper()),
                       ("padded.csv", header.replace(";", " ; ", 1)),
                       ("trailing.csv", header + ";")):
        other = export(name, head)
        r = run_adapter(hub, "jobcenter", "import", first, other,
                        agency="jc-a", rejects=rejects)
        assert r.rc == EXIT_FATAL, r
        assert (f"adapter-jobcenter: {other}: its header line is not the "
                f"one of {first}; with rejects = {rejects} every CSV file "
                "of the run must have the same (one rejects file, one "
                "header): import it in a run of its own") in r.stderr, r
        assert r.summary["queued"] == 0, r


def test_the_columns_left_unread_are_logged_in_the_header_s_order(make_hub):
    """ADAPTERS.md, "Unknown columns": a column ignore_columns lists is
    left unread and the log says so, `ADP-FILE ... ignoring column(s)
    Navn, Adresse`, in the header's order; so too where some are the
    columns a rejects file begins with (left out by name), and where a
    name stands twice."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cpr = hubtest.CprGen(11608).take(1)[0]
    hub.cprs.add(cpr)
    row = f"{hubtest.dashed(cpr)};280017;2026-03-02;2026-03-06;40;30;alle"
    cases = (
        ("line;column;reason;" + ABSENCE + ";Navn",
         "3;lessons_absent;x;" + row + ";n", "line,column,reason,Navn",
         "line, column, reason, Navn"),
        ("Navn;" + ABSENCE + ";navn;Adresse", "n;" + row + ";m;a",
         "Navn,Adresse", "Navn, navn, Adresse"))
    for n, (header, data, ignore, said) in enumerate(cases):
        path = hub.inputs_dir / f"unread{n}.csv"
        path.write_text(f"{header}\n{data}\n")
        r = run_adapter(hub, "school", "import", path, agency="school-a",
                        ignore_columns=ignore)
        assert r.rc == EXIT_ROWS_REJECTED, r
        assert f" notice ADP-FILE {path}: ignoring column(s) {said}\n" \
            in r.stderr, r.stderr
