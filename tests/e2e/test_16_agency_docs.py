"""Every example file in docs/ADAPTERS.md's section on the adapters
imports as written: each is given to the adapter its section names, the
kind found from its header, and every row is accepted and stored. Keeps
the documentation honest as the adapters change."""

import re

from agencytest import run_adapter, stored
from hubtest import ROOT

TYPES = {
    "school": "absence,readiness,school_leaving",
    "college": "enrolment,dropout,dropout_risk",
    "addiction": "addiction",
    "jobcenter": "benefit,missed_activation",
    "youthunit": "assignment,desk",
}


def examples():
    text = (ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    text = text[text.index("<!-- agencies:begin"):
                text.index("<!-- agencies:end")]
    adapter, found = None, []
    for m in re.finditer(r"^### adapter-(\w+)|^```\n(.*?)```", text,
                         re.M | re.S):
        if m.group(1):
            adapter = m.group(1)
        elif adapter:
            found.append((adapter, m.group(2)))
    return found


def test_every_example_imports(make_hub):
    found = examples()
    assert {a for a, _ in found} == set(TYPES), found
    hub = make_hub(agencies={f"{a}-docs": t for a, t in TYPES.items()},
                   caseworkers={"cw-anna": False, "cw-bo": False,
                                "cw-desk": True})
    total = 0
    for i, (adapter, body) in enumerate(found):
        for cpr in re.findall(r"\b(\d{6})-?(\d{4})\b", body):
            hub.cprs.add("".join(cpr))
        path = hub.inputs_dir / f"example-{i}.csv"
        path.write_text(body, encoding="utf-8")
        rows = len(body.strip().splitlines()) - 1
        r = run_adapter(hub, adapter, "import", path,
                        agency=f"{adapter}-docs")
        assert r.rc == 0, f"example {i} ({adapter}):\n{body}\n{r}"
        assert (r.summary["rows"], r.summary["accepted"]) == (rows, rows), \
            f"example {i} ({adapter}):\n{body}\n{r}"
        total += rows
    assert len(stored(hub)) == total
    hub.sweep()
