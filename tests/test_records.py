"""The record type: stable content ids, exact JSONL round trips, derivation."""

from __future__ import annotations

from pipeline.records import Message, Record, Rejection


def test_id_is_a_stable_content_hash():
    a = Record(instruction="Sort these numbers.", input="3 1 2", output="1 2 3", stage="seeds")
    b = Record(instruction="Sort these numbers.", input="3 1 2", output="1 2 3", stage="other", meta={"x": 1})
    c = Record(instruction="Sort these numbers.", input="3 1 2", output="1 2 3 ", stage="seeds")
    assert a.id == b.id and a.id != c.id and len(a.id) == 16


def test_jsonl_round_trip_is_exact():
    rec = Record(instruction="Q", output="A", stage="evol_instruct", parent_ids=["p"], lineage=["deepening"],
                 messages=[Message(role="user", content="Q"), Message(role="assistant", content="A")],
                 meta={"evol": {"depth": 1, "op": "deepening"}, "score": 4.5, "unicode": "naïve ✓"})
    line = rec.to_json()
    assert Record.from_json(line) == rec and Record.from_json(line).to_json() == line
    rej = Rejection(record=rec, stage="quality", reason="too_short", value=3, detail={"limit": 5})
    assert Rejection.from_json(rej.to_json()) == rej


def test_derive_links_parent_and_recomputes_id():
    parent = Record(instruction="Explain gravity.", output="...", stage="seeds", meta={"task_id": "t1"})
    child = parent.derive("evol_instruct", instruction="Explain gravity to a child in 3 steps.",
                          lineage=["concretizing"])
    assert child.parent_ids == [parent.id] and child.id != parent.id and child.stage == "evol_instruct"
    assert child.meta == {"task_id": "t1"} and child.lineage == ["concretizing"]
