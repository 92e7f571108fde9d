#!/usr/bin/python3
"""hnswlib peer for quarry's ANN benchmark (bench.RunANN).

usage: hnswlib_ann.py DIR SPACE M EFC EF[,EF...] OUTDIR [BUILD_THREADS]

Reads DIR/base.fvecs and DIR/query.fvecs, builds an hnswlib index (space
l2 or cosine, random_seed=1) with BUILD_THREADS threads (default 2), then for
each ef times knn_query(k=10) over all queries batched with num_threads=1
(best of 3) and writes the returned labels to OUTDIR/labels-EF.ivecs, so the
Go harness scores both engines with one recall function. Prints JSON lines
{"ef", "qps", "qps_cpu", "build_s", "build_cpu_s", "index_bytes", "latency_us"}
(qps_cpu by the querying thread's CPU time, build_cpu_s by the process's). Run with Debian's /usr/bin/python3
(python3-hnswlib, python3-numpy).
"""
import json, os, sys, tempfile, time
import numpy as np
import hnswlib


def fvecs(p):
    a = np.fromfile(p, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].view(np.float32).copy()


def write_ivecs(p, a):
    a = np.asarray(a, dtype=np.int32)
    out = np.empty((a.shape[0], a.shape[1] + 1), dtype=np.int32)
    out[:, 0] = a.shape[1]
    out[:, 1:] = a
    out.tofile(p)


def main():
    d, space, M, efc, efs, outdir = sys.argv[1:7]
    threads = int(sys.argv[7]) if len(sys.argv) > 7 else 2
    M, efc = int(M), int(efc)
    base, query = fvecs(os.path.join(d, "base.fvecs")), fvecs(os.path.join(d, "query.fvecs"))
    idx = hnswlib.Index(space=space, dim=base.shape[1])
    idx.init_index(max_elements=len(base), M=M, ef_construction=efc, random_seed=1)
    t, c = time.perf_counter(), time.process_time()
    idx.add_items(base, np.arange(len(base)), num_threads=threads)
    build, build_cpu = time.perf_counter() - t, time.process_time() - c
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "index.bin")
        idx.save_index(p)
        size = os.path.getsize(p)
    idx.set_num_threads(1)
    for ef in [int(x) for x in efs.split(",")]:
        idx.set_ef(max(ef, 10))
        best = best_cpu = None
        for _ in range(3):
            t, c = time.perf_counter(), time.thread_time()
            labels = idx.knn_query(query, k=10, num_threads=1)[0]
            el, cpu = time.perf_counter() - t, time.thread_time() - c
            best = el if best is None or el < best else best
            best_cpu = cpu if best_cpu is None or cpu < best_cpu else best_cpu
        write_ivecs(os.path.join(outdir, "labels-%d.ivecs" % ef), labels)
        # One more pass, each query timed alone (a call from Python each).
        lat = []
        for i in range(len(query)):
            t = time.perf_counter_ns()
            idx.knn_query(query[i:i + 1], k=10, num_threads=1)
            lat.append((time.perf_counter_ns() - t) / 1e3)
        print(json.dumps({"ef": ef, "qps": len(query) / best, "qps_cpu": len(query) / max(best_cpu, 1e-9),
                          "build_s": build, "build_cpu_s": build_cpu, "index_bytes": size,
                          "latency_us": lat}), flush=True)


if __name__ == "__main__":
    main()
