"""Per-sample SGD baselines, written the way their users write them.

Every module exposes ``make(W_list, b_list, dtype)`` returning an object with
``train(X, Y_onehot, y_int, order, lr)`` (one pass, batch size 1, updating its own copy of the
weights) and ``weights()`` -> (list of W as (fan_in, fan_out), list of b) as float64 NumPy, so
run.py can check every baseline against the reference before timing it. ``available()`` says
whether the baseline's library is installed (and why not).
"""
