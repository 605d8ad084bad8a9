"""Transcribe a folder with N workers of a Dask cluster, one ``--shard K/N`` per worker.

    python scripts/scale_out_dask.py IN_DIR OUT_DIR --workers 4 [--scheduler tcp://host:8786] [-- TRANSCRIBE OPTIONS]

Without ``--scheduler`` it starts a local cluster of ``--workers`` processes (one thread each) on this machine;
with it, the shards run on the workers of an existing cluster (``dask scheduler`` / ``dask worker`` on other
machines that see IN_DIR and OUT_DIR, e.g. on a shared file system).  Each task runs
``drumscribe transcribe IN_DIR OUT_DIR --shard K/N --threads 1`` in its own process, so a worker that dies
loses one shard, which Dask runs again: finished outputs are skipped, so nothing is done twice.  Needs the
``scale`` extra (``pip install 'drumscribe[scale]'``; ``./run`` installs it).  See docs/scale_out.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def run_shard(in_dir: str, out_dir: str, k: int, n: int, extra: list[str]) -> dict:
    """One shard in a fresh process (the model, ONNX Runtime and their threads are the process's own)."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "drumscribe", "transcribe", in_dir, out_dir, "--shard", f"{k}/{n}",
           "--threads", "1", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return {"shard": f"{k}/{n}", "rc": r.returncode, "seconds": round(time.perf_counter() - t0, 2),
            "stdout": r.stdout.strip().splitlines()[-1:] , "stderr": r.stderr.strip().splitlines()[-3:]}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--workers", type=int, default=2, help="shards = local worker processes (default 2)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    a = ap.parse_args(argv)
    if a.workers < 1:
        ap.error("--workers must be >= 1")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("scale_out_dask: needs dask.distributed (pip install 'drumscribe[scale]')", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    if a.scheduler:
        client = Client(a.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        n = a.workers
        futures = [client.submit(run_shard, a.in_dir, a.out_dir, k, n, extra, pure=False, retries=1)
                   for k in range(1, n + 1)]
        results = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for r in results:
        print(f"shard {r['shard']}: exit {r['rc']} in {r['seconds']} s  {' '.join(r['stdout'])}")
        for line in r["stderr"]:
            print(f"  {line}", file=sys.stderr)
    print(f"{len(results)} shards in {time.perf_counter() - t0:.1f} s")
    return max(r["rc"] for r in results)


if __name__ == "__main__":
    sys.exit(main())
