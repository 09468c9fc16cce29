"""Generation throughput: requests/s through our Generator against the local fake server with injected
latency, at several concurrency levels, versus the ideal limit (concurrency / latency).

    python bench/generation.py                 # 200 ms latency, concurrency 8, 32, 64, 10 rounds each
    python bench/generation.py --rounds 3      # quick
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.config import load_config
from pipeline.generators.base import GenerationRequest, SamplingParams
from pipeline.generators.factory import make_generator


def start_server(latency: float, folder: Path) -> tuple[subprocess.Popen, str]:
    """The fake server in its own process, so its threads do not share our interpreter's GIL."""
    port_file = folder / "port"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.testing.fake_server", "--latency", str(latency),
                             "--port-file", str(port_file)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the fake server did not start")
        time.sleep(0.02)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def measure(base_url: str, concurrency: int, n: int, folder: Path) -> tuple[float, float]:
    """Requests/s after warm-up, and this process's CPU milliseconds per request (the client's cost: when it
    nears 1000 / limit the client, not the server, caps the throughput)."""
    cfg = load_config(None, [f"generator.base_url={base_url}", "generator.model=bench-model",
                             f"generator.concurrency={concurrency}", "generator.cache=false",
                             "generator.timeout_s=30"])
    gen = make_generator(cfg.generator, folder, use_cache=False)
    params = SamplingParams(max_tokens=32)
    # Distinct prompts per level, so no answer could come from anywhere but the server.
    reqs = [GenerationRequest.chat([{"role": "user", "content": f"c{concurrency} question {i}"}], params)
            for i in range(n)]
    gen.generate(reqs[:concurrency])  # warm-up: connections opened, imports done
    started, cpu = time.perf_counter(), time.process_time()
    out = gen.generate(reqs[concurrency:])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    gen.close()
    if not all(g.ok for g in out):
        raise SystemExit(f"{sum(not g.ok for g in out)} requests failed")
    return (n - concurrency) / elapsed, cpu * 1000 / (n - concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server waits per request")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--rounds", type=int, default=10, help="requests per level = concurrency * (rounds + 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base_url = start_server(args.latency, Path(tmp))
        try:
            print(f"latency {args.latency * 1000:.0f} ms; baseline = ideal limit (concurrency / latency)")
            print(f"{'concurrency':>11} {'requests':>8} {'baseline req/s':>14} {'ours req/s':>10} {'ratio':>6} "
                  f"{'client CPU ms/req':>17}")
            for c in args.concurrency:
                n = c * (args.rounds + 1)
                rps, cpu_ms = measure(base_url, c, n, Path(tmp))
                limit = c / args.latency
                print(f"{c:>11} {n - c:>8} {limit:>14.1f} {rps:>10.1f} {rps / limit:>6.0%} {cpu_ms:>17.2f}",
                      flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
