"""The dedup stage: every rejection reason with its detail, keep policies, reference, decontamination."""

import json

import pytest
from pydantic import ValidationError

from pipeline.records import Record
from pipeline.stages.base import StageContext
from pipeline.stages.dedup import DedupConfig, DedupStage

ROBOT = "Write a short story about a brave little robot."


def _run(records, seeds=(), **cfg):
    stage = DedupStage(DedupConfig(**cfg), StageContext(seed=0, seed_records=list(seeds)))
    return stage.run(records)


def _rec(instruction, output="", **meta):
    return Record(instruction=instruction, output=output, stage="evol_instruct", meta=meta)


def test_exact_duplicate_after_normalisation():
    a, b = _rec(ROBOT, "one"), _rec("  write a SHORT story about a brave little robot ", "two")
    res = _run([a, b, _rec("Name three prime numbers.")])
    assert [r.id for r in res.kept] == [a.id, res.kept[1].id]
    (rej,) = res.rejected
    assert rej.reason == "exact_duplicate" and rej.record.id == b.id
    assert rej.detail["kept_id"] == a.id and rej.value == 1.0
    assert res.stats["exact_duplicates"] == 1


def test_near_duplicate_detail_has_cluster_kept_and_jaccard():
    a, b = _rec(ROBOT), _rec("Write a short story about a brave little robots.")
    res = _run([a, b, _rec("Name three prime numbers.")])
    (rej,) = res.rejected
    assert rej.reason == "near_duplicate" and rej.record.id == b.id
    assert rej.detail["kept_id"] == a.id and rej.detail["cluster_id"] == 0
    assert rej.detail["jaccard"] == rej.value and 0.95 < rej.value < 1.0
    assert 0.8 < rej.detail["jaccard_estimated"] <= 1.0
    assert res.stats["near"]["bands"] == 20 and res.stats["near"]["rows"] == 6


def test_keep_longest_output():
    a, b = _rec(ROBOT, "short"), _rec(ROBOT + "!", "a much longer story output")
    res = _run([a, b], keep="longest_output")
    assert [r.id for r in res.kept] == [b.id]
    assert res.rejected[0].reason == "exact_duplicate" and res.rejected[0].detail["kept_id"] == b.id


def test_keep_highest_score_for_near_duplicates_missing_score_loses():
    a = _rec(ROBOT, judge_score=3)
    b = _rec("Write a short story about a brave little robots.", judge_score=5)
    c = _rec("Write a short story about the brave little robot.")
    res = _run([a, b, c], keep="highest_score", exact=False)
    assert [r.id for r in res.kept] == [b.id]
    assert {r.record.id: r.detail["kept_id"] for r in res.rejected} == {a.id: b.id, c.id: b.id}
    assert {r.reason for r in res.rejected} == {"near_duplicate"}


def test_reference_seeds_drop_copies_but_never_the_seeds(tmp_path):
    seed = Record(instruction="Explain in plain language why the daytime sky looks blue.", stage="seeds")
    copy = _rec("Explain in plain language why the day-time sky looks blue!")
    res = _run([seed, copy, _rec("Name three prime numbers.")], seeds=[seed], reference_seeds=True)
    assert seed.id in {r.id for r in res.kept}
    (rej,) = res.rejected
    assert rej.reason == "near_duplicate_of_reference" and rej.record.id == copy.id
    assert rej.detail["reference_id"] == seed.id and rej.value >= 0.7
    # The same through a reference file, the reference set itself holding duplicates that stay.
    ref = tmp_path / "previous.jsonl"
    ref.write_text("\n".join(json.dumps({"instruction": seed.instruction, "output": "x" * i}) for i in (1, 2)))
    res = _run([copy], reference_paths=[str(ref)])
    assert [r.reason for r in res.rejected] == ["near_duplicate_of_reference"]


EVAL_ROWS = [
    {"instruction": "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
                    "clips in May. How many clips did Natalia sell altogether?", "output": "72"},
    {"instruction": "Give the chemical symbol for gold and explain where it comes from.", "output": "Au"},
]


def _eval_file(tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in EVAL_ROWS))
    return path


def test_decontamination_by_13_gram_names_eval_item_and_ngram(tmp_path):
    path = _eval_file(tmp_path)
    dirty = _rec("Solve: natalia sold clips to 48 of her friends in April, and then she sold some more.")
    res = _run([dirty, _rec("Name three prime numbers.")],
               decontamination={"eval_paths": [str(path)], "minhash_threshold": None})
    (rej,) = res.rejected
    assert rej.reason == "contaminated_ngram" and rej.record.id == dirty.id
    assert rej.detail["ngram"] == "natalia sold clips to 48 of her friends in april and then she"
    assert rej.detail["eval_id"] == f"{path}:1" and rej.detail["eval_file"] == str(path)
    assert rej.detail["eval_text"].startswith("Natalia sold clips") and rej.value == 13.0


def test_decontamination_by_minhash_from_csv(tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text("instruction,output\nGive the chemical symbol for gold and explain where it comes from.,Au\n")
    dirty = _rec("Give the chemical symbol for gold, and explain where it comes from!")
    res = _run([dirty, _rec("Name three prime numbers.")], decontamination={"eval_paths": [str(path)]})
    (rej,) = res.rejected
    assert rej.reason == "contaminated_minhash" and rej.detail["field"] == "instruction"
    assert rej.detail["eval_text"] == "Give the chemical symbol for gold and explain where it comes from."
    assert rej.detail["jaccard"] == rej.value >= 0.8


def test_decontamination_off_without_eval_paths_and_fingerprint_follows_eval_content(tmp_path):
    res = _run([_rec(EVAL_ROWS[0]["instruction"])])
    assert not res.rejected and "contaminated" not in res.stats
    path = _eval_file(tmp_path)
    stage = DedupStage(DedupConfig(decontamination={"eval_paths": [str(path)]}), StageContext())
    before = stage.input_fingerprint()
    path.write_text(json.dumps(EVAL_ROWS[1]))
    assert stage.input_fingerprint() != before


def test_config_rejects_bands_rows_beyond_num_perm_and_unknown_keys():
    with pytest.raises(ValidationError):
        DedupConfig(bands=20, rows=8)
    with pytest.raises(ValidationError):
        DedupConfig(decontamination={"eval_path": "x"})
    assert DedupConfig(bands=16, rows=8).near_params().bands == 16
