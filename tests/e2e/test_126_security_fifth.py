"""126 SECURITY.md, a fifth reading by an auditor: the table of what the
store keeps in the clear, held against the files' own databases and meta
keys after purges and erasures; and the second cases earlier rounds left
open. Every hub is privacy-swept at teardown."""

import re

import hubtest
from hubtest import AbsenceRow, CprGen
from test_60_store_at_rest import databases, dump


def clear_table():
    """SECURITY.md's table of "Exactly this stays in the clear": for each
    environment, its databases, and for a meta database the keys its row
    names in quotes."""
    doc = (hubtest.ROOT / "docs" / "SECURITY.md").read_text()
    rows = re.findall(r"(?m)^  \| `(\w+)/(\w+)` \| (.*?) \|", doc)
    table = {}
    for env, db, key in rows:
        names = set(re.findall(r'"(\w+)"', key)) if db == "meta" else None
        table.setdefault(env, {})[db] = names
    return table


def test_the_clear_table_names_every_database_and_meta_key(make_hub):
    """SECURITY.md "Personal data at rest": "Exactly this stays in the
    clear" — the table names every database of each environment, and
    every key of the meta databases, which hold their keys and numbers
    in the clear. Held against a store that imported, alerted, ran an
    erasure (which numbers itself in both metas) and stopped."""
    hub = make_hub()
    cprs = CprGen(12601).take(3)
    hub.cprs.update(cprs)
    hub.assign(cprs[0], "cw-anna")
    path, _ = hub.csv("w19.csv", [AbsenceRow(c, absent=20, expected=100)
                                  for c in cprs])
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("an alert", lambda s: s["alerts"] >= 1)
    hub.hubctl("erase", "--cpr", cprs[1], "--reason", "art. 17 request")
    hub.stop()
    table = clear_table()
    assert set(table) == {"log", "ids", "derived"}, table
    for env, dbs in table.items():
        have = set(databases(hub.data_dir / env))
        assert have == set(dbs), (env, have, set(dbs))
        # The boot id's key is stored as its first 7 bytes ("ids_boo").
        keys = {k.decode() for k, _ in dump(hub.data_dir / env, "meta")}
        assert keys <= dbs["meta"], (env, keys - dbs["meta"])


def test_the_hubs_own_secret_file_open_by_any_bit_is_said_by_both(
        make_hub):
    """SECURITY.md "Personal data at rest": a secret key file whose mode
    gives its group or others any right (read, write or execute) is used
    but said, `KEYS-MODE PATH is open to others than its owner (mode
    0MMM): it holds secret keys; chmod 600 it` (warn), by every program
    that loads it, each time — here hub.key_secret, which hubd and
    hubctl load; a mode of the owner's alone says nothing."""
    hub = make_hub(start=False)
    path = hub.keys_dir / "hub.key_secret"

    def said(text, mode):
        return (f"warn KEYS-MODE {path} is open to others than its owner "
                f"(mode {mode}): it holds secret keys; chmod 600 it") in text
    for mode in ("0640", "0602", "0610", "0601"):
        path.chmod(int(mode, 8))
        p = hub.hubctl("stats")
        assert said(p.stderr, mode), (mode, p.stderr)
    for mode in ("0400", "0700", "0600"):
        path.chmod(int(mode, 8))
        p = hub.hubctl("stats")
        assert "KEYS-MODE" not in p.stderr, (mode, p.stderr)
    path.chmod(0o610)
    hub.start()
    hub.stop()
    assert said(hub.log_text(), "0610"), hub.log_text()
    path.chmod(0o600)
    hub.start()
    hub.stop()
    assert hub.log_text().count("KEYS-MODE") == 1, hub.log_text()
