"""The module boundaries docs/ARCHITECTURE.md ("The folders") states,
checked from the sources' #include lines: a boundary nobody checks erodes
one convenient include at a time."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

# folder -> the project folders its sources may include from (its own too).
ALLOWED = {
    "common": {"common"},
    "proto": {"proto", "common"},
    "store": {"store", "common"},
    "hub": {"hub", "store", "proto", "common"},
    "web": {"web", "proto", "common"},
    "adapters": {"adapters", "proto", "common", "store/outbox.h"},
}


def sources(folder):
    return sorted(p for p in (ROOT / folder).glob("*.[ch]"))


def includes(path):
    return INCLUDE.findall(path.read_text(encoding="utf-8"))


def test_every_product_folder_is_listed():
    found = {p.parent.name for p in ROOT.glob("*/*.[ch]")}
    assert found == set(ALLOWED), "a folder the table does not list"


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_folder_includes_only_what_it_depends_on(folder):
    bad = []
    for src in sources(folder):
        for kind, name in includes(src):
            if kind != '"':
                continue
            top = name.split("/")[0]
            allowed = ALLOWED[folder]
            if top not in allowed and name not in allowed:
                bad.append(f"{src.relative_to(ROOT)}: {name}")
    assert not bad, "includes across a stated boundary:\n" + "\n".join(bad)


# The store's own unit tests: ARCHITECTURE.md, "The folders" ("its unit
# tests aside"). Every other test, fuzz target and bench tool reaches the
# store through its header, as the programs do.
STORE_TESTS = {"tests/unit/store_test.c", "tests/unit/audit_test.c",
               "tests/unit/outbox_test.c"}


def test_only_store_includes_lmdb():
    tests = [p for sub in ("unit", "fuzz", "bench")
             for p in (ROOT / "tests" / sub).glob("*.[ch]")]
    bad = [str(p.relative_to(ROOT))
           for p in [*ROOT.glob("*/*.[ch]"), *tests]
           if p.parent.name != "store"
           and p.relative_to(ROOT).as_posix() not in STORE_TESTS
           and ("<", "lmdb.h") in includes(p)]
    assert not bad, f"lmdb.h outside store/: {bad}"


# ARCHITECTURE.md, "Where the code is": each folder's public headers are
# what the others include; store_int.h, hub_int.h, adapter_int.h and the
# rest are internals of their folder.
PUBLIC = {"proto/wire.h", "store/store.h", "store/outbox.h",
          "store/store_password.h", "adapters/adapter.h", "hub/hub.h"}


def test_other_folders_include_only_public_headers():
    bad = []
    for p in sorted(ROOT.glob("*/*.[ch]")):
        for kind, name in includes(p):
            top = name.split("/")[0]
            if kind != '"' or top == p.parent.name or top == "common":
                continue
            if name not in PUBLIC:
                bad.append(f"{p.relative_to(ROOT)}: {name}")
    assert not bad, "an internal header across folders:\n" + "\n".join(bad)


# The libraries' headers -> the folders (or the one file) the table gives
# each library to.
LIBRARIES = {
    "lmdb.h": {"store"},
    "sodium.h": {"common", "store", "hub", "web", "adapters"},
    "zmq.h": {"common/keys.c", "hub", "web", "adapters"},
    "microhttpd.h": {"web", "hub/metrics.c"},
    "protobuf-c/protobuf-c.h": {"proto", "hub/hubctl_lifecycle.c"},
}


def test_libraries_are_used_where_the_table_says():
    bad = []
    for p in sorted(ROOT.glob("*/*.[ch]")):
        rel = p.relative_to(ROOT).as_posix()
        for kind, name in includes(p):
            allowed = LIBRARIES.get(name) if kind == "<" else None
            if allowed is not None and p.parent.name not in allowed \
                    and rel not in allowed:
                bad.append(f"{rel}: <{name}>")
    assert not bad, "a library outside its folders:\n" + "\n".join(bad)


def test_only_proto_packs_and_unpacks():
    # The generated ungebro__v1__*__pack/__unpack functions and
    # protobuf-c's own message (un)packing are wire.c's alone.
    ops = r"(?:get_packed_size|pack|pack_to_buffer|unpack|free_unpacked)"
    call = re.compile(rf"\b((?:ungebro__v1__\w+__|protobuf_c_message_){ops})"
                      r"\s*\(")
    bad = []
    for p in ROOT.glob("*/*.c"):
        if p.parent.name == "proto":
            continue
        for m in call.finditer(p.read_text(encoding="utf-8")):
            bad.append(f"{p.relative_to(ROOT)}: {m.group(1)}")
    assert not bad, "packing outside proto/:\n" + "\n".join(bad)


def test_client_programs_stay_outside_the_daemon():
    # inbox and webd speak the protocol only; the adapters reach the
    # store only through their own outbox.
    progs = [ROOT / "hub/inbox_main.c", *sources("web"),
             *sorted((ROOT / "adapters").glob("*_main.c"))]
    bad = [f"{p.relative_to(ROOT)}: {name}" for p in progs
           for kind, name in includes(p)
           if name.startswith("hub/") or (name.startswith("store/")
                                          and name != "store/outbox.h")]
    assert not bad, "\n".join(bad)


def test_only_webd_and_the_metrics_endpoint_speak_http():
    # libmicrohttpd serves webd and hubd's /metrics (hub/metrics.c); the
    # adapters, inbox, the store and the protocol never touch it.
    bad = [str(p.relative_to(ROOT)) for p in ROOT.glob("*/*.[ch]")
           if ("<", "microhttpd.h") in includes(p)
           and p.parent.name != "web"
           and p.relative_to(ROOT).as_posix() != "hub/metrics.c"]
    assert not bad, f"microhttpd.h outside web/ and hub/metrics.c: {bad}"


def test_the_rules_read_no_store():
    # ARCHITECTURE.md, "The rules engine": a rule is a pure function over
    # the profile and one event; apply.c reads and writes the store.
    pure = [*sorted((ROOT / "hub").glob("rule_*.c")), ROOT / "hub/profile.c",
            ROOT / "hub/compose.c", ROOT / "hub/rules.c",
            ROOT / "hub/engine.h", ROOT / "hub/rules.h"]
    store_call = re.compile(r"\bstore_\w+\s*\(")
    bad = []
    for p in pure:
        text = p.read_text(encoding="utf-8")
        bad += [f"{p.relative_to(ROOT)}: {name}"
                for _, name in includes(p) if name.startswith("store/")]
        bad += [f"{p.relative_to(ROOT)}: {m.group(0)}"
                for m in store_call.finditer(text)]
    assert not bad, "the rules reach the store:\n" + "\n".join(bad)


def test_every_compile_has_the_warnings(tmp_path):
    # ARCHITECTURE.md, "The folders": every C file, generated code and
    # fuzz targets included, compiles as C11 under the warnings. make -n
    # -B prints what a full build would run (nothing is built).
    cmds = []
    for args in (["all", f"BUILD={tmp_path}"], ["fuzz-build"]):
        out = subprocess.run(["make", "-n", "-B", "--no-print-directory",
                              *args], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        cmds += [c for c in out.replace("\\\n", " ").splitlines()
                 if re.match(r"\s*(gcc|clang|cc)\s", c)
                 and re.search(r"\S+\.c(\s|$)", c)]
    assert len(cmds) > 100, cmds
    # "as C11 under -Wall -Wextra -Werror (with -Wshadow
    # -Wstrict-prototypes)": each of them, on every command.
    want = {"-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow",
            "-Wstrict-prototypes"}
    bad = [c for c in cmds if not want <= set(c.split())]
    assert not bad, "compiled without the warnings:\n" + "\n".join(bad)


def test_every_compile_passes_under_clang_too(tmp_path):
    """The Makefile's settings say CC=clang may replace gcc: the files
    fuzz-build does not compile with clang (the programs' mains, the unit
    tests, the bench's client) pass clang's warnings under -Werror too.
    Checked with -fsyntax-only on the commands make -n -B prints."""
    out = subprocess.run(["make", "-n", "-B", "--no-print-directory", "all",
                          "CC=clang", f"BUILD={tmp_path}"], cwd=ROOT,
                         capture_output=True, text=True, check=True,
                         timeout=120).stdout
    gen = ROOT / "build/release/gen"
    if not (gen / "proto/ungebro.pb-c.h").exists():
        pytest.skip("needs a build (make) for the generated header")
    fuzzed = ("common/", "proto/", "store/", "hub/", "adapters/", "web/")
    cmds = []
    for c in out.replace("\\\n", " ").splitlines():
        words = c.split()
        if not words or words[0] != "clang" or "-c" not in words:
            continue
        src = words[words.index("-c") + 1]
        if src.startswith(str(tmp_path)) or \
                (src.startswith(fuzzed) and not src.endswith("_main.c")):
            continue
        words = [w.replace(str(tmp_path), str(ROOT / "build/release"))
                 for w in words[:words.index("-c")]
                 if w not in ("-MMD", "-MP")]
        cmds.append(words + ["-fsyntax-only", src])
    assert len(cmds) > 20, out[-2000:]
    bad = []
    for cmd in cmds:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
        if r.returncode:
            bad.append(r.stderr[-1500:])
    assert not bad, "\n".join(bad)


def test_every_c_file_is_as_make_format_leaves_it():
    """Every C file is as `make format` (clang-format, .clang-format)
    leaves it: an unformatted file makes the next edit of it reformat
    lines nobody meant to change."""
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "--no-print-directory",
                        "-f", "Makefile", "-f", "-", "formatted-files"],
                       input="formatted-files:\n\t@echo $(FORMATTED)\n",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    files = p.stdout.split()
    assert len(files) > 100, files
    # "every C file": a header only fuzz targets include too.
    tree = {str(f.relative_to(ROOT)) for ext in ("*.c", "*.h")
            for f in ROOT.rglob(ext)
            if f.relative_to(ROOT).parts[0] not in ("build", "var")}
    assert not tree - set(files), sorted(tree - set(files))
    r = subprocess.run(["clang-format", "--dry-run", "--Werror", *files],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    unformatted = sorted(set(re.findall(r"^(\S+\.[ch]):\d+:\d+: error",
                                        r.stderr, re.M)))
    assert r.returncode == 0 and not unformatted, \
        f"run make format: {unformatted or r.stderr[-2000:]}"


def test_the_derived_lock_is_taken_where_architecture_says():
    """ARCHITECTURE.md, "The processes": the applier holds the derived
    lock while it applies a chunk; the loop takes it only to apply a small
    batch itself, reload the rules, fire a due timer or purge, never to
    receive or acknowledge. The functions that take it are those."""
    func = re.compile(r"^(\w+)\(", re.M)
    take = re.compile(r"pthread_mutex_(?:try)?lock\(&h->derived_mu\)|"
                      r"hub__derived_enter\(h\)")
    found = set()
    for p in sorted((ROOT / "hub").glob("*.c")):
        text = p.read_text(encoding="utf-8")
        for m in take.finditer(text):
            names = func.findall(text[:m.start()])
            found.add(f"{p.name}:{names[-1] if names else '?'}")
    assert found == {
        "applier.c:applier_main",        # a chunk
        "applier.c:hub__applier_kick",   # a small batch, on the loop
        "applier.c:hub__derived_enter",  # the loop's way in, for:
        "apply.c:hub__fire_timers",      # a due timer
        "hub.c:hub_run",                 # a rules reload
        "retention.c:hub__retention_tick",  # a purge
    }, sorted(found)
    doc = " ".join((ROOT / "docs/ARCHITECTURE.md").read_text().split())
    assert ("the loop takes it only to apply a small batch itself (above), "
            "reload the rules, fire a due timer or purge") in doc


def test_the_hub_clock_is_set_by_the_loop_alone():
    """ARCHITECTURE.md: the loop thread alone sets the hub clock; the
    applier reads it. A move as of an earlier instant once set the clock
    to that instant and put it back after, on the applier thread, so a
    newer reading the loop made meanwhile was undone: a timeline asked at
    a day's first second was judged by the day before."""
    sets = re.compile(r"\bh->now\s*=[^=]|->now\s*=[^=]")
    found = []
    for p in sorted((ROOT / "hub").glob("*.c")):
        for n, line in enumerate(p.read_text(encoding="utf-8")
                                 .splitlines(), 1):
            if sets.search(line):
                found.append(f"{p.name}:{n}: {line.strip()}")
    assert found and all(f.startswith("hub.c:") and
                         "hub__clock(h)" in f for f in found), found
    doc = " ".join((ROOT / "docs/ARCHITECTURE.md").read_text().split())
    assert "the loop thread alone sets it, and the applier only reads it" \
        in doc


def test_an_agency_file_sees_the_runtimes_face():
    """ARCHITECTURE.md, "Where the code is": an agency's files see the
    runtime through adapters/adapter.h and the shared field checks of
    adapters/fields.h, never its internals (adapter_int.h) or the outbox."""
    doc = " ".join((ROOT / "docs/ARCHITECTURE.md").read_text().split())
    assert "`adapters/adapter.h` (what an agency file sees, with the " \
        "field checks of `adapters/fields.h`)" in doc
    runtime = {"runtime", "import", "import_plan", "import_rejects",
               "import_refused", "watch", "sender", "jsonl", "encoding",
               "parse", "fields"}
    bad = []
    for p in sorted((ROOT / "adapters").glob("*.c")):
        if p.stem in runtime:
            continue
        for kind, name in includes(p):
            if kind == '"' and name.split("/")[0] != "common" and \
                    name not in ("adapters/adapter.h", "adapters/fields.h"):
                bad.append(f"{p.relative_to(ROOT)}: {name}")
    assert not bad, "\n".join(bad)


def test_the_tests_row_names_what_tests_holds():
    """ARCHITECTURE.md, "The folders": the tests/ row's subfolders are
    tests/'s, and vectors/ holds what it says: a packed envelope per
    event type and a person profile per format."""
    doc = (ROOT / "docs/ARCHITECTURE.md").read_text()
    row = re.search(r"^\| `tests/` \|([^\n]*)$", doc, re.M).group(1)
    named = set(re.findall(r"`(\w+)/`", row))
    present = {p.name for p in (ROOT / "tests").iterdir()
               if p.is_dir() and not p.name.startswith((".", "__"))}
    assert named == present, (named, present)
    assert "a packed envelope per event type" in row and \
        "person profile of each format" in row, row
    vectors = [p.name for p in (ROOT / "tests/vectors").glob("*.bin")]
    assert {n.split("_")[0] for n in vectors} == {"envelope", "profile"}


def test_an_apply_writes_its_audit_records_with_its_alerts():
    """ARCHITECTURE.md, "The processes": an apply writes the audit records
    of the escalations and withdrawals it makes in the same transaction as
    the alerts (apply.c, store_effects), and hands the loop only what the
    loop tells (pushes, notices, log lines); so a hand-over that fails
    loses no audit record, and no message says it does."""
    apply = (ROOT / "hub/apply.c").read_text(encoding="utf-8")
    assert "store_alerts_put_audited(" in apply
    assert "store_alerts_ack_audited(" in apply
    doc = " ".join((ROOT / "docs/ARCHITECTURE.md").read_text().split())
    assert "The audit records of the escalations and withdrawals it makes " \
        "are written with them, in the alerts' own transaction" in doc
    bad = [p.name for p in (ROOT / "hub").glob("*.c")
           if "audit records are lost" in " ".join(
               p.read_text(encoding="utf-8").split())
           or "audit records are lost" in p.read_text(encoding="utf-8")]
    assert not bad, bad
