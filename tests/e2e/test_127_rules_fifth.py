"""127 rules, fifth round: docs/RULES.md read as a caseworker and a
municipal analyst read it, each case built as the page states it and
compared detail by detail with what a real hubd raises.

rules_hub keeps escalation out of the way; 2026-09-07 is a Monday."""

from hubtest import CprGen, event, rules_hub


def test_a_missed_activation_names_long_names_whole(make_hub):
    """RULES.md §3, "Missed activations": the explanation names the
    Jobcenter, "the event's `jobcenter`, then "(sent by AGENCY)" when the
    sending agency's id differs", and the miss's "activity code if any";
    §1: only an explanation longer than 1023 bytes is cut (the names an
    agency sent may be 256 bytes each). A jobcenter and an activity code
    of 256 bytes each make an explanation of about 700 bytes: both are
    named whole, and the sender too. (They were cut at 143 and 83 bytes
    on the way, taking "(sent by jobcenter-a)" and the activity's closing
    parenthesis with them.)"""
    hub = rules_hub(make_hub, "2026-09-14T09:00:00")
    cpr = CprGen(12701).born("2000-03-03")
    hub.assign(cpr, "cw-anna")
    jobcenter = "jc-" + "æ" * 125 + "END"        # 3 + 250 + 3 bytes
    activity = "a" * 253 + "END"                  # 256 bytes
    assert len(jobcenter.encode()) == len(activity.encode()) == 256
    hub.send(*(event("jobcenter-a", cpr, "missed_activation",
                     jobcenter=jobcenter, date=day, activity=activity)
               for day in ("2026-09-01", "2026-09-02")))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "missed_activation"
    assert a["explanation"] == (
        f"{jobcenter} (sent by jobcenter-a) reported a missed activation "
        f"on 2026-09-02 (activity {activity}): 2 missed within 30 days. "
        "Rule missed_activation: 2 missed activations within 30 days call "
        "for close follow-up. Expected of you: contact the young person "
        "and the Jobcenter about the activation by 2026-09-21.")
    assert len(a["explanation"].encode()) <= 1023
