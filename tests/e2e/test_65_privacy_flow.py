"""64 the whole flow, swept as a data-protection officer would
(SECURITY.md "Personal data at rest", "Right of access", "Erasure";
OPERATIONS.md "Backups, retention and erasure"): all five adapters
(one of them watching a drop directory), hubd, the inbox client, the
web inbox, hubctl export, audit show, backup, report and erase. Then
every file the programs wrote — the store, the outboxes, the watcher's
reports, the backup, the annual status, every log and every program's
own output that is not meant to carry a CPR — is searched for every
test CPR in each form a CPR is plausibly written or encoded in: its ten
digits, with a dash or a blank after the birth date, as UTF-16, as
hexadecimal digits and in base64."""

import base64
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from agencytest import run_adapter, write_export
from hubtest import RULE_AGENCIES, SLOW, CprGen, binary, dashed, wait_for
from test_70_web import PASSWORD, Web, anna_session, set_password


def forms(cpr):
    """Every written form and encoding of cpr the sweep looks for."""
    texts = {cpr, dashed(cpr), f"{cpr[:6]} {cpr[6:]}"}
    out = set()
    for t in texts:
        raw = t.encode()
        out |= {raw, t.encode("utf-16-le"), t.encode("utf-16-be"),
                raw.hex().encode(), raw.hex().upper().encode()}
        # base64 of the text at each of the three alignments it may
        # start at inside a longer encoded value: the middle part that
        # does not depend on the bytes around it.
        for pad in range(3):
            enc = base64.b64encode(b"\0" * pad + raw)
            skip = (pad * 4 + 2) // 3 + 1
            out.add(enc[skip:skip + 8])
    return out


def sweep(paths, cprs):
    needles = {n: c for c in cprs for n in forms(c)}
    found, files = [], 0
    for base in map(Path, paths):
        walk = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.is_file() and not p.is_symlink())
        for path in walk:
            files += 1
            data = path.read_bytes()
            for n, c in needles.items():
                if n in data:
                    found.append(f"{path}: {n!r} ({c})")
    assert not found, "test CPRs found:\n  " + "\n  ".join(found)
    return files


def test_nothing_personal_is_left_where_it_is_not_meant_to_be(
        make_hub, tmp_path):
    gen = CprGen(6401)
    p = gen.take(8)
    hub = make_hub(agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "desk-dora": True},
                   clock=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()))
    hub.cprs.update(p)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    set_password(hub, "cw-anna", PASSWORD)
    hub.assign(p[0], "cw-anna", start="2024-01-01")
    today = time.strftime("%Y-%m-%d", time.gmtime())

    # The youth unit: contact assignments (one row bad, a CPR in it).
    path, _ = write_export(hub, "kontakt.csv",
                           ["cpr", "caseworker", "role", "from", "to"],
                           [([p[1], "cw-anna", "contact", "2024-01-01", ""],
                             None),
                            ([p[2], dashed(p[3]), "contact", "2024-01-01",
                              ""], None)])
    r = run_adapter(hub, "youthunit", "import", path, agency="youth-a")
    assert r.rc == 1, str(r)
    # The college: a dropout, and a row with a CPR where a code goes.
    path, _ = write_export(hub, "status.csv",
                           ["cpr", "institution", "programme", "status",
                            "date", "start", "reason"],
                           [([p[0], "751021", "stx", "Frafald", today, "",
                              ""], None),
                            ([p[1], "751021", "stx", "Frafald", today, "",
                              p[4]], None),
                            ([p[5], p[6], "stx", "Frafald", today, "", ""],
                             None)])
    r = run_adapter(hub, "college", "import", path, agency="college-a")
    assert r.rc in (0, 1), str(r)
    # The addiction centre: a referral shared with consent.
    path, _ = write_export(hub, "rmc.csv",
                           ["cpr", "anonymous", "record_id", "service",
                            "date", "stage", "consent", "consent_scope",
                            "consent_expires"],
                           [([p[0], "", "", "rmc-a", today, "henvist", "ja",
                              "alt", ""], None),
                            (["", "ja", dashed(p[7]), "rmc-a", today,
                              "henvist", "", "", ""], None)])
    r = run_adapter(hub, "addiction", "import", path, agency="addiction-a")
    assert r.rc == 1, str(r)
    # The Jobcenter: a missed activation, an activity code holding a CPR.
    path, _ = write_export(hub, "udeblevet.csv",
                           ["cpr", "jobcenter", "date", "activity"],
                           [([p[0], "jc-a", today, "akt-1"], None),
                            ([p[1], "jc-a", today, "akt " + p[6]], None)])
    r = run_adapter(hub, "jobcenter", "import", path, agency="jobcenter-a")
    assert r.rc in (0, 1), str(r)
    # The school, watching a drop directory: absence with a bad row.
    drop = hub.tmp / "drop"
    drop.mkdir()
    with hub.adapter_running("watch", drop, settle=0, rescan=1) as proc:
        src, _ = write_export(hub, f"fravaer-{p[2]}.csv",
                              ["cpr", "school", "period_start",
                               "period_end", "lessons_absent",
                               "lessons_expected", "kind"],
                              [([p[0], "280017", "2024-03-04", "2024-03-08",
                                 "12", "30", "ulovligt"], None),
                               ([p[1], "280017", "2024-03-04", p[3], "1",
                                 "30", "ulovligt"], None),
                               ([p[2], "280017", "2024-03-04", "2024-03-08",
                                 p[4], "30", "ulovligt"], None)])
        src.rename(drop / src.name)
        wait_for(lambda: list((drop / "done").glob("*.report.json")),
                 30 * SLOW, "the watcher's report")
        time.sleep(2)
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    (hub.logs_dir / "watch.log").write_text(out + err)
    hub.wait_applied()
    wait_for(lambda: hub.stats()["alerts"] >= 1, 20, "an alert")

    # The caseworker: live inbox, timeline, an acknowledgement and an
    # action whose notes hold a CPR, the open list.
    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=3)
    assert alerts, err
    conf = hub.tmp / "inbox-cw-anna.conf"
    runs = []
    for args in (["--timeline", p[0]], ["--list", "--json"],
                 ["--ack", alerts[0]["alert_id"], "--note",
                  f"spoke about {dashed(p[0])}"],
                 ["--contact", alerts[-1]["alert_id"], "--how",
                  f"phone {p[0]}", "--note", f"re {p[0]}"]):
        runs.append(subprocess.run([binary("inbox"), "--config", str(conf),
                                    *args], capture_output=True, text=True,
                                   timeout=60 * SLOW))
    (hub.logs_dir / "inbox-oneshot.err").write_text(
        "".join(r.stderr for r in runs))
    (hub.client_dir / "inbox-oneshot.out").write_text(
        "".join(r.stdout for r in runs))

    # The web inbox: the list, an alert's page, the timeline.
    web = Web(hub)
    try:
        session = anna_session(web)
        page = web.request("GET", "/alerts", cookies=session)[1]
        for hexid in re.findall(r'href="/alert/([0-9a-f]{18})"', page):
            web.request("GET", f"/alert/{hexid}", cookies=session)
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": dashed(p[0])},
                              cookies=session)
        assert r.status == 200, page
    finally:
        web.stop()

    # The operator: export, audit show, backup, erase.
    hub.hubctl("export", "--cpr", p[0], "--out",
               str(hub.client_dir / "export.json"))
    shown = hub.hubctl("audit", "show", "--cpr", p[0], "--json").stdout
    backup = hub.tmp / "backup"
    hub.hubctl("backup", str(backup))
    report = hub.tmp / "report"
    report.mkdir()
    hub.hubctl("report", "--year", today[:4], "--out",
               str(report / "status.html"))
    erased = hub.hubctl("erase", "--cpr", p[0], "--reason", "art. 17 no. 9")
    assert "erased: " in erased.stdout
    hub.stop()

    swept = [hub.data_dir, hub.adapters_dir, hub.logs_dir, backup, report,
             *drop.glob("*/*.report.json")]
    assert sweep(swept, p) > 10
    # An audit record holds what was typed, a CPR masked.
    assert p[0] not in shown and "xxxxxx-xxxx" in shown, shown
