"""Cold (or warm) first fit of a fresh process: run it with an empty cache directory,

    NUMBA_CACHE_DIR=$(mktemp -d) python bench/cold_compile.py

and PYTHONPATH=DIR to time another tree (DIR/fastmlp with its kernels in DIR/fastmlp/kernels,
e.g. from ``git archive REV fastmlp kernels``; run it outside the repository so the current
directory does not shadow it). Prints JSON: import time, first fit+predict (wall and CPU s),
the second one. Same workload as bench/run.py's compile section.
"""
import json
import time

import numpy as np

t0 = time.perf_counter()
import fastmlp  # noqa: E402

t1, c1 = time.perf_counter(), time.process_time()
rng = np.random.default_rng(0)
X = rng.random((64, 784)).astype(np.float32)
y = np.arange(64) % 10
m = fastmlp.MLPClassifier(hidden_layer_sizes=(200, 200), epochs=1, random_state=0)
m.fit(X, y)
m.predict(X)
t2, c2 = time.perf_counter(), time.process_time()
m.fit(X, y)
m.predict(X)
t3 = time.perf_counter()
print(json.dumps(dict(import_s=t1 - t0, first_fit_s=t2 - t1, first_fit_cpu_s=c2 - c1,
                      second_fit_s=t3 - t2, fastmlp=fastmlp.__file__)))
