"""The dedup stage: decontamination against eval sets, reference, exact and MinHash-LSH near duplicates."""

from __future__ import annotations

import hashlib
import time
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from pipeline.config_base import StrictModel
from pipeline.dedup.decontam import build_ngram_index, contamination_batch
from pipeline.dedup.minhash import MinHashParams, lsh_bands
from pipeline.dedup.near import NearDupParams, find_near_duplicates, match_reference
from pipeline.dedup.normalise import exact_key
from pipeline.dedup.shingles import ShingleSpec
from pipeline.executors import Executor
from pipeline.readers import read_records
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig, executor_of

FieldName = Literal["instruction", "input", "output", "messages"]


class DecontaminationConfig(StrictModel):
    """Off unless `eval_paths` names evaluation sets (JSONL, CSV, or a saved `datasets` directory)."""

    eval_paths: list[str] = Field(default_factory=list)
    # Record fields checked; each against the whole eval item (n-grams) or the same eval field (MinHash).
    fields: list[FieldName] = Field(default_factory=lambda: ["instruction", "output"])
    # GPT-3 (Brown et al., 2020, appendix C): any shared 13-gram marks contamination; never below 8
    # words for short eval items.
    ngram: int = Field(13, ge=1, le=64)
    min_ngram: int = Field(8, ge=1, le=64)
    # MinHash similarity to an eval item's same field; None switches this test off.
    minhash_threshold: float | None = Field(0.8, gt=0.0, le=1.0)


class DedupConfig(StageConfig):
    fields: list[FieldName] = Field(default_factory=lambda: ["instruction", "input"])
    exact: bool = True
    near: bool = True
    # Character 5-grams: on our planted corpus of short instructions (6-24 words) every pair with at
    # most 10% of its words edited reaches J >= 0.7 and 3% of pairs with >= 40% edited do, while word
    # 3-grams reach 0.7 for only 66% of the lightly edited pairs (one changed word in a 10-word
    # instruction kills 3 of its 8 word 3-grams). `python bench/dedup.py --shingle-study` prints this.
    shingle: Literal["word", "char"] = "char"
    shingle_size: int = Field(5, ge=1, le=32)
    # MinHash (Broder, 1997) with 128 permutations: standard error of the estimate ~ 1/sqrt(128) = 0.09.
    num_perm: int = Field(128, ge=16, le=1024)
    minhash_seed: int = 1
    threshold: float = Field(0.7, gt=0.0, le=1.0)
    # LSH banding (Leskovec, Rajaraman & Ullman, Mining of Massive Datasets, ch. 3.4): b bands of r rows
    # make a pair a candidate with probability 1-(1-J^r)^b. None: chosen by datasketch's optimiser with
    # these (false positive, false negative) weights. None: verification removes false candidates, so we
    # weigh misses 9:1 (for 0.7 and 128 permutations: 20 x 6, P(candidate | J=0.8) = 0.998); with
    # verify=none the candidates are the verdict, so 1:1 as MinHashLSH does (14 x 9).
    bands: int | None = Field(None, ge=1)
    rows: int | None = Field(None, ge=1)
    lsh_weights: tuple[float, float] | None = None
    # exact: candidate pairs must reach the threshold in exact shingle-set Jaccard before they merge;
    # minhash: in the signature estimate; none: every LSH candidate merges (datasketch-style).
    verify: Literal["exact", "minhash", "none"] = "exact"
    max_rounds: int = Field(3, ge=1, le=32)
    keep: Literal["first", "longest_output", "highest_score"] = "first"
    score_key: str = "judge_score"
    reference_seeds: bool = False
    reference_paths: list[str] = Field(default_factory=list)
    workers: int = Field(0, ge=0)  # 0: all cores
    decontamination: DecontaminationConfig = Field(default_factory=DecontaminationConfig)

    @model_validator(mode="after")
    def _bands_fit(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both dedup.bands and dedup.rows, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"dedup.bands x dedup.rows = {self.bands * self.rows} exceeds num_perm "
                             f"{self.num_perm}: lower one of them")
        return self

    def near_params(self, threshold: float | None = None) -> NearDupParams:
        threshold = self.threshold if threshold is None else threshold
        if self.bands is not None and self.rows is not None:
            bands, rows = self.bands, self.rows
        else:
            weights = self.lsh_weights or ((0.5, 0.5) if self.verify == "none" else (0.1, 0.9))
            bands, rows = lsh_bands(threshold, self.num_perm, weights)
        return NearDupParams(spec=ShingleSpec(self.shingle, self.shingle_size),
                             minhash=MinHashParams(self.num_perm, self.minhash_seed), threshold=threshold,
                             bands=bands, rows=rows, verify=self.verify, max_rounds=self.max_rounds,
                             workers=self.workers)


def _fields_text(rec: Record, fields: list[str] | tuple[str, ...]) -> str:
    return rec.text(tuple(fields))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _eval_id(rec: Record) -> str:
    return str(rec.meta.get("task_id") or rec.meta.get("source") or rec.id)


class DedupStage(Stage):
    name = "dedup"
    config_cls = DedupConfig

    @property
    def cfg(self) -> DedupConfig:
        assert isinstance(self.config, DedupConfig)
        return self.config

    def input_fingerprint(self) -> str:
        """The content of every eval and reference file, so editing one reruns this stage."""
        digest = hashlib.sha256()
        paths = list(self.cfg.decontamination.eval_paths) + list(self.cfg.reference_paths)
        for source in paths:
            digest.update(source.encode())
            path = Path(source)
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for f in files:
                digest.update(f.read_bytes() if f.exists() else b"<missing>")
        return digest.hexdigest()[:24]

    def run(self, records: list[Record]) -> StageResult:
        result = StageResult()
        stats: dict = {"in": len(records)}
        t0 = time.perf_counter()
        records = self._decontaminate(records, result, stats)
        records = self._against_reference(records, result, stats)
        if self.cfg.exact:
            records = self._exact(records, result, stats)
        if self.cfg.near:
            records = self._near(records, result, stats)
        result.kept = records
        stats["kept"] = len(records)
        stats["seconds"] = round(time.perf_counter() - t0, 3)
        result.stats = stats
        return result

    def _near_executor(self) -> Executor | None:
        """The run's executor for MinHash work; None locally, where near.py's own process pool (this
        stage's `workers`, started only for large inputs) is the local schedule."""
        executor = executor_of(self.context)
        return None if executor.name == "local" else executor

    def _priority(self, records: list[Record]) -> np.ndarray:
        """Rank per record (0 = kept first) under the keep policy; ties go to the earlier record."""
        pos = np.arange(len(records))
        if self.cfg.keep == "longest_output":
            primary = -np.array([len(r.output) for r in records], dtype=np.float64)
        elif self.cfg.keep == "highest_score":
            primary = -np.array([_score(r.meta.get(self.cfg.score_key)) for r in records])
        else:
            return pos
        rank = np.empty(len(records), dtype=np.int64)
        rank[np.lexsort((pos, primary))] = pos
        return rank

    def _exact(self, records: list[Record], result: StageResult, stats: dict) -> list[Record]:
        rank = self._priority(records)
        best: dict[str, int] = {}
        keys = [exact_key([_fields_text(r, [f]) for f in self.cfg.fields]) for r in records]
        for i, key in enumerate(keys):
            if key not in best or rank[i] < rank[best[key]]:
                best[key] = i
        kept = []
        for i, rec in enumerate(records):
            winner = best[keys[i]]
            if winner == i:
                kept.append(rec)
            else:
                result.reject(rec, self.name, "exact_duplicate", 1.0, kept_id=records[winner].id,
                              normalised_hash=keys[i])
        stats["exact_duplicates"] = len(records) - len(kept)
        return kept

    def _near(self, records: list[Record], result: StageResult, stats: dict) -> list[Record]:
        params = self.cfg.near_params()
        texts = [_fields_text(r, self.cfg.fields) for r in records]
        found = find_near_duplicates(texts, params, self._priority(records), executor=self._near_executor())
        kept = []
        for i, rec in enumerate(records):
            k = int(found.kept_of[i])
            if k < 0:
                kept.append(rec)
                continue
            jac = round(float(found.jaccard[i]), 4)
            result.reject(rec, self.name, "near_duplicate", jac, cluster_id=int(found.cluster[i]),
                          kept_id=records[k].id, jaccard=jac,
                          jaccard_estimated=round(float(found.jaccard_estimated[i]), 4),
                          verify=params.verify)
        stats["near_duplicates"] = len(records) - len(kept)
        stats["near"] = found.stats
        return kept

    def _reference_records(self) -> list[Record]:
        refs = list(self.context.seed_records) if self.cfg.reference_seeds else []
        for path in self.cfg.reference_paths:
            refs.extend(read_records(path, stage="reference"))
        return refs

    def _against_reference(self, records: list[Record], result: StageResult, stats: dict) -> list[Record]:
        refs = self._reference_records()
        if not refs:
            return records
        ref_ids = {r.id for r in refs}
        # Reference records that flow through the pipeline (the seeds) are the reference, not copies.
        queries = [i for i, r in enumerate(records) if r.id not in ref_ids]
        match, sim = match_reference([_fields_text(records[i], self.cfg.fields) for i in queries],
                                     [_fields_text(r, self.cfg.fields) for r in refs], self.cfg.near_params(),
                                     executor=self._near_executor())
        drop: dict[int, tuple[int, float]] = {q: (int(m), float(s)) for q, m, s in zip(queries, match, sim,
                                                                                        strict=True) if m >= 0}
        kept = []
        for i, rec in enumerate(records):
            if i not in drop:
                kept.append(rec)
                continue
            ref, jac = refs[drop[i][0]], round(drop[i][1], 4)
            result.reject(rec, self.name, "near_duplicate_of_reference", jac, reference_id=ref.id,
                          reference_text=_short(_fields_text(ref, self.cfg.fields)), jaccard=jac)
        stats["reference_size"] = len(refs)
        stats["near_duplicates_of_reference"] = len(drop)
        return kept

    def _decontaminate(self, records: list[Record], result: StageResult, stats: dict) -> list[Record]:
        cfg = self.cfg.decontamination
        if not cfg.eval_paths:
            return records
        evals: list[tuple[str, Record]] = [(p, r) for p in cfg.eval_paths for r in read_records(p, stage="eval")]
        eval_full = [r.text(("instruction", "input", "output")) for _, r in evals]
        dropped: dict[int, tuple[str, float, dict]] = {}
        index = build_ngram_index(eval_full, cfg.ngram, cfg.min_ngram)
        for field in cfg.fields:
            texts = [_fields_text(r, [field]) for r in records]
            hits = executor_of(self.context).map_batches(partial(contamination_batch, index), texts, workers=1)
            for i, hit in enumerate(hits):
                if hit is not None and i not in dropped:
                    path, item = evals[hit.eval_index]
                    dropped[i] = ("contaminated_ngram", float(len(hit.ngram.split())),
                                  {"field": field, "eval_file": path, "eval_id": _eval_id(item),
                                   "eval_text": _short(eval_full[hit.eval_index]), "ngram": hit.ngram})
        if cfg.minhash_threshold is not None:
            params = self.cfg.near_params(cfg.minhash_threshold)
            for field in cfg.fields:
                eval_field = ("instruction", "input") if field in ("instruction", "input") else (field,)
                match, sim = match_reference([_fields_text(r, [field]) for r in records],
                                             [r.text(eval_field) for _, r in evals], params,
                                             executor=self._near_executor())
                for i in np.flatnonzero(match >= 0):
                    if int(i) in dropped:
                        continue
                    path, item = evals[int(match[i])]
                    jac = round(float(sim[i]), 4)
                    dropped[int(i)] = ("contaminated_minhash", jac,
                                       {"field": field, "eval_file": path, "eval_id": _eval_id(item),
                                        "eval_text": _short(item.text(eval_field)), "jaccard": jac})
        kept = []
        for i, rec in enumerate(records):
            if i in dropped:
                reason, value, detail = dropped[i]
                result.reject(rec, self.name, reason, value, **detail)
            else:
                kept.append(rec)
        stats["eval_items"] = len(evals)
        stats["contaminated"] = len(dropped)
        return kept


def _score(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("-inf")
