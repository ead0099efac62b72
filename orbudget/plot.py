"""matplotlib figures. From sweep records: frontiers (a value against a budget) and regret curves (log-log, with the
fitted slope in the legend; points averaged over seeds with standard-error bars, failed points skipped). From models
and results, per family: rollout allocations against success rates, online spend paths, RLB bid curves and value
tables, learning curves, and one bar per method."""

from __future__ import annotations

import numpy as np

from .batch import summarize


def _lines(records, x, y, by):
    rows = summarize(records, [x] + ([by] if by else []), y)
    groups: dict = {}
    for r in rows:
        groups.setdefault(r.get(by) if by else None, []).append(r)
    for key in groups:
        groups[key].sort(key=lambda r: r[x])
    return groups


def _new_axes():
    """A new figure's Axes, laid out so that ``savefig`` keeps every label (constrained layout)."""
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5, 3.5), layout="constrained")[1]


def _frontier_arrays(table: dict, x: str, y: str, ax):
    """A frontier as a model's ``frontier()`` returns it (arrays by name, such as ``ModelRouting.frontier``'s
    ``budget``, ``accuracy``, ``cost``, ``lp_bound`` and ``always``): ``y`` against ``x``, with the LP bound
    dashed and the one-model baselines as points where they are there."""
    from .core.errors import InvalidProblemError

    for name in (x, y):
        if name not in table:
            arrays = ", ".join(f"`{k}`" for k, v in table.items() if np.ndim(v) == 1)
            raise InvalidProblemError(f"`{name}` is not a column of this frontier; its columns: {arrays}")
    xs, ys = np.asarray(table[x], float), np.asarray(table[y], float)
    ax.plot(xs, ys, "o-", label=y)
    bound = table.get("lp_bound")
    if y == "accuracy" and bound is not None and np.isfinite(np.asarray(bound, float)).any():
        ax.plot(xs, np.asarray(bound, float), "--", color="gray", label="LP bound")
    always = table.get("always")
    if isinstance(always, dict) and x in ("budget", "cost") and y == "accuracy":
        for name, (cost, accuracy) in always.items():
            ax.plot([cost], [accuracy], "s", label=f"always {name}")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if len(ax.get_lines()) > 1:
        ax.legend(fontsize=8)
    return ax


def frontier(records, x: str, y: str, *, by: str | None = None, ax=None, label_format: str = "{}"):
    """Plot mean ``y`` against ``x`` (e.g. value against budget), one line per ``by`` value; returns the Axes.

    ``records`` is a sweep's records (dicts or a DataFrame), or what a model's ``frontier()`` returns (a dict of
    arrays, such as ``ModelRouting.frontier(budgets)``: ``x="budget", y="accuracy"`` draws it with its LP bound
    and the one-model baselines)."""
    ax = ax or _new_axes()
    if isinstance(records, dict):
        return _frontier_arrays(records, x, y, ax)
    for key, rows in _lines(records, x, y, by).items():
        xs = [r[x] for r in rows]
        ys = [r[f"{y}_mean"] for r in rows]
        err = [r[f"{y}_se"] or 0.0 for r in rows]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=2, label=label_format.format(key) if by else None)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if by:
        ax.legend(title=by, fontsize=8)
    return ax


def regret_curve(records, x: str = "horizon", y: str = "regret", *, by: str | None = "method", ax=None):
    """Log-log plot of mean ``y`` against ``x`` per ``by``, each labelled with its fitted slope; returns the Axes."""
    ax = ax or _new_axes()
    for key, rows in _lines(records, x, y, by).items():
        xs = np.array([r[x] for r in rows], float)
        ys = np.array([r[f"{y}_mean"] for r in rows], float)
        keep = (xs > 0) & (ys > 0)
        slope = np.polyfit(np.log(xs[keep]), np.log(ys[keep]), 1)[0] if keep.sum() >= 2 else float("nan")
        ax.loglog(xs[keep], ys[keep], "o-", label=f"{key} (slope {slope:.2f})" if by else f"slope {slope:.2f}")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=8)
    return ax


# -- per family: figures from models and results --------------------------------------------------------------------
def allocation(problem, result, *, ax=None):
    """Knapsack RL: rollouts per prompt (``result.x``) against the prompt's success rate, one dot per prompt, for a
    ``RolloutAllocation`` and its solved ``Result``; returns the Axes."""
    ax = ax or _new_axes()
    n = np.asarray(result.x)
    ax.scatter(problem.success_rates, n, s=10, alpha=0.7)
    ax.axhline(problem.total_rollouts / problem.n_prompts, color="gray", lw=1, ls="--", label="uniform")
    ax.set_xlabel("success rate p")
    ax.set_ylabel("rollouts N")
    ax.set_title(f"{result.method}: value {result.objective:.4g}", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def bid_curves(campaign, table, *, t: int, budgets, thetas=None, ax=None):
    """Real-time bidding: RLB's bid against the impression's CTR θ with ``t`` auctions left, one line per budget in
    ``budgets``, from a value table V(t, b) (``orbudget.solvers.numba.bidding.rlb_table``); returns the Axes."""

    from .solvers.numba.bidding import rlb_bid

    ax = ax or _new_axes()
    if thetas is None:
        top = float(np.quantile(campaign.ctr_sample if campaign.ctr_sample is not None else [campaign.ctr_mean], 0.99))
        thetas = np.linspace(0.0, max(3 * campaign.ctr_mean, top), 120)
    for b in budgets:
        ax.plot(thetas, [rlb_bid(table, t, int(b), float(th), campaign.max_bid) for th in thetas], label=f"b = {b}")
    ax.set_xlabel("CTR θ")
    ax.set_ylabel("bid")
    ax.set_title(f"RLB bids with t = {t} auctions left", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def methods(results: dict, *, key: str = "objective", ax=None, ylabel: str | None = None):
    """One bar per method: ``results`` maps a label to a ``Result``; the bar is its ``objective`` (or ``stats[key]``),
    with a standard-error bar when ``stats["episode_rewards"]`` holds per-episode values; the bound is marked where
    a result has one. A result without a value (no feasible answer) gets no bar, and its status is written in its
    place. Returns the Axes."""
    ax = ax or _new_axes()
    labels = list(results)
    values, errors = [], []
    for r in results.values():
        v = r.objective if key == "objective" else r.stats.get(key)
        values.append(np.nan if v is None else float(v))
        per = r.stats.get("episode_rewards") if key == "objective" and v is not None else None
        per = None if per is None else np.asarray(per, float).ravel()
        errors.append(float(per.std(ddof=1) / np.sqrt(per.size)) if per is not None and per.size > 1 else 0.0)
    xs = np.arange(len(labels))
    ax.bar(xs, np.nan_to_num(values), yerr=errors, capsize=3, color="tab:blue", alpha=0.8)
    for i, r in enumerate(results.values()):
        if np.isnan(values[i]):
            ax.text(i, 0, r.status.value, ha="center", va="bottom", rotation=90, fontsize=8, color="tab:red")
        elif key == "objective" and r.bound is not None:
            ax.plot([i - 0.4, i + 0.4], [r.bound, r.bound], color="black", lw=1)
    ax.set_xticks(xs, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel or key)
    return ax


def spend_paths(problem, result, *, ax=None):
    """Online allocation: each resource's cumulative consumption over the horizon under ``result.x`` (the action per
    request), as a share of its budget, against the even pace t/T (dashed). Returns the Axes."""
    ax = ax or _new_axes()
    dense = problem.dense()
    x = problem.check_actions(result.x)
    T, m = x.size, problem.n_resources
    used = np.zeros((T, m))
    rows = np.flatnonzero(x >= 0)
    if dense.is_matching:
        used[rows, x[rows]] = 1.0
    else:
        used[rows] = dense.consumption[rows, x[rows], :]
    budgets = np.asarray(problem.budgets, float)
    share = np.cumsum(used, axis=0) / np.where(budgets > 0, budgets, 1.0)
    t = np.arange(1, T + 1)
    for j in range(m):
        ax.plot(t, share[:, j], lw=1, label=f"resource {j}" if m <= 8 else None)
    ax.plot([0, T], [0, 1], color="gray", ls="--", lw=1, label="even pace")
    ax.set_xlabel("request t")
    ax.set_ylabel("share of budget spent")
    ax.set_title(f"{result.method}: spend over the horizon", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def value_heatmap(table, *, ax=None, title: str = "V(t, b)"):
    """A value table V(t, b) (auctions left t by budget b, e.g. ``rlb_table``) as a heat map; returns the Axes."""
    ax = ax or _new_axes()
    image = ax.imshow(np.asarray(table, float), aspect="auto", origin="lower", cmap="viridis")
    ax.figure.colorbar(image, ax=ax)
    ax.set_xlabel("budget b")
    ax.set_ylabel("auctions left t")
    ax.set_title(title, fontsize=9)
    return ax


def learning_curve(values, *, window: int = 1, ax=None, xlabel: str = "episode", ylabel: str = "reward"):
    """Training progress: ``values`` per step or episode (e.g. ``SequoiaPolicy.fit(...)["train_rewards"]``, or the
    losses a ``callback`` collected), with a moving average over ``window`` points when ``window > 1``. Returns
    the Axes."""
    ax = ax or _new_axes()
    y = np.asarray(values, float).ravel()
    ax.plot(np.arange(1, y.size + 1), y, lw=1, alpha=0.5 if window > 1 else 1.0)
    if window > 1 and y.size >= window:
        smooth = np.convolve(y, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, y.size + 1), smooth, lw=2, label=f"mean of {window}")
        ax.legend(fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
