"""121 install, fourth round: README.md and docs/OPERATIONS.md's
installation, settings and service parts as a municipal IT operator
reads them, for what the earlier rounds (test_01, test_80, test_98,
test_104) do not assert exactly."""

import datetime
import re
import shutil
import subprocess
import sys

import pytest

import hubtest


@pytest.mark.parametrize("word", ["--nightly", "-x", "--help"])
def test_hubctl_takes_a_word_after_double_dash_as_it_is(word):
    """OPERATIONS.md, "Start and stop": "`--` ends the options: every
    argument after it is taken as it is, even one that starts with
    `--`", and a mistyped command word is `hubctl: unknown or missing
    command (see --help)`. `hubctl -- --nightly` said `unknown option
    --nightly`, as if the word were still an option (and `hubctl --
    --help` so refused --help); before the `--` it is one."""
    hubctl = hubtest.binary("hubctl")
    p = subprocess.run([hubctl, "--", word], capture_output=True,
                       text=True, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (
        2, "", "hubctl: unknown or missing command (see --help)\n"), p
    if word != "--help":
        p = subprocess.run([hubctl, word], capture_output=True, text=True,
                           timeout=30)
        assert (p.returncode, p.stderr) == (
            2, f"hubctl: unknown option {word} (see --help)\n"), p


def test_mkman_rerun_rewrites_only_the_pages_whose_text_changed(tmp_path):
    """OPERATIONS.md, "Build and install": the man pages are made by
    `deploy/man/mkman.py build/release/bin`, rerun when options change. A
    rerun dated every page today, so one changed option rewrote all nine
    (a commit of eight date-only changes, and a merge conflict in each
    beside another branch's rerun). A page whose text is what --help
    makes keeps its file and date; a page that differs is written anew,
    dated today."""
    man = tmp_path / "man"
    shutil.copytree(hubtest.ROOT / "deploy" / "man", man)
    old_date = "2001-02-03"
    pages = sorted(man.glob("*.1"))
    assert len(pages) == 9, pages
    for page in pages:
        text = re.sub(r'^(\.TH \S+ 1 )"[^"]*"', rf'\1"{old_date}"',
                      page.read_text(), count=1)
        page.write_text(text)
    stale = man / "inbox.1"
    stale.write_text(stale.read_text().replace(
        ".SH OPTIONS", ".SH OPTIONS\nan option since removed"))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in pages}
    p = subprocess.run([sys.executable, str(man / "mkman.py"),
                        str(hubtest.BUILD / "bin")], capture_output=True,
                       text=True, timeout=120)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    today = datetime.date.today().isoformat()
    for page in pages:
        if page.name == "inbox.1":
            text = page.read_text()
            assert text.startswith(f'.TH INBOX 1 "{today}"'), text[:80]
            assert "an option since removed" not in text
            # The same as the committed page but for its date.
            committed = (hubtest.ROOT / "deploy" / "man" /
                         "inbox.1").read_text()
            assert re.sub(r'"\d{4}-\d\d-\d\d"', "D", text, count=1) == \
                re.sub(r'"\d{4}-\d\d-\d\d"', "D", committed, count=1)
        else:
            assert (page.read_bytes(), page.stat().st_mtime_ns) == \
                before[page.name], page.name
