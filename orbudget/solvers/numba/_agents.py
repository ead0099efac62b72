"""numba kernel of the exact agent-workflow DP: the completion probability over (done set, budget units left, time
units left), with the argmax portfolio. Pure-Python twin: ``workflow_dp.py_func``."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def workflow_dp(n_states, full_state, b_max, t_max, act_ptr, act_cost, act_time, out_ptr, out_next, out_cost, out_time, out_prob):
    """States are processed in the order given (most done first); state s's actions are ``act_ptr[s]..act_ptr[s+1]``,
    action a's outcomes ``out_ptr[a]..out_ptr[a+1]`` (next state, cost units, time units >= 1, probability). An
    action is allowed when its worst cost and time fit in (b, t). V(full) = 1; no allowed action: V = 0.

    V(s, b, t) = max_a Σ_o prob_o · V(next_o, b − cost_o, t − time_o)   (ties: the first action)."""
    v = np.zeros((n_states, b_max + 1, t_max + 1))
    policy = np.full((n_states, b_max + 1, t_max + 1), -1, np.int64)
    v[full_state, :, :] = 1.0
    for s in range(n_states):
        if s == full_state:
            continue
        for t in range(t_max + 1):
            for b in range(b_max + 1):
                best = 0.0
                arg = -1
                for a in range(act_ptr[s], act_ptr[s + 1]):
                    if act_cost[a] > b or act_time[a] > t:
                        continue
                    val = 0.0
                    for o in range(out_ptr[a], out_ptr[a + 1]):
                        val += out_prob[o] * v[out_next[o], b - out_cost[o], t - out_time[o]]
                    if val > best + 1e-15:
                        best = val
                        arg = a
                v[s, b, t] = best
                policy[s, b, t] = arg
    return v, policy
