"""The filter chain: order of filters, first drop wins, and a process pool gives the same outcomes in order."""

from __future__ import annotations

from pipeline.quality.chain import FILTERS, apply_filters, build_filters, run_filters
from pipeline.readers import read_records
from pipeline.records import Record
from pipeline.stages.quality import QualityConfig


def mixed_corpus() -> list[Record]:
    seeds = read_records("seeds/seed_tasks.jsonl")
    bad = [
        Record(instruction="Say something.", output=""),
        Record(instruction="Explain tides.", output="I'm sorry, but I can't help with that."),
        Record(instruction="Erkläre die Gezeiten.", output="Die Gezeiten entstehen durch die Anziehungskraft des "
               "Mondes und der Sonne auf das Wasser der Ozeane der Erde."),
        Record(instruction="Fix it.", input="He go home.", output="He go home."),
    ]
    out: list[Record] = []
    for i, seed in enumerate(seeds):
        out.append(seed)
        if i % 10 == 0:
            out.append(bad[(i // 10) % len(bad)])
    return out


def test_filters_run_cheapest_first_and_language_last() -> None:
    names = [f.name for f in build_filters(QualityConfig())]
    assert names == list(FILTERS) and names[-1] == "language"
    assert "refusal" not in [f.name for f in build_filters(QualityConfig(refusal={"enabled": False}))]


def test_first_drop_wins() -> None:
    record = Record(instruction="Say it.", output="I'm sorry, but I can't.\ufffd")
    outcome = apply_filters(build_filters(QualityConfig()), record)
    assert (outcome.filter, outcome.reason, outcome.value) == ("encoding", "replacement_character", 1)


def test_pool_matches_single_process_in_order() -> None:
    records = mixed_corpus()
    config = QualityConfig()
    serial = run_filters(records, config, num_proc=1)
    parallel = run_filters(records, config, num_proc=2, chunk_size=25, min_parallel=1)
    assert parallel == serial
    reasons = {o.reason for o in serial if o.filter}
    assert reasons == {"empty_output", "refusal_phrase", "language_not_allowed", "output_copies_input"}
    assert sum(1 for o in serial if o.filter) == len(records) - 152
