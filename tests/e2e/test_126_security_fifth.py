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
