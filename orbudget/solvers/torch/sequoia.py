"""SEQUOIA's policy (`SequoiaPolicy`): a Q-network over (decision, state) whose greedy step is an exact argmax
over the combinatorial action set, trained by DQN (see ``rmab.py`` for the method, its training and the departures
from the reference code)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.progress import Run
from ...core.result import Limit
from ...core.validation import SeedLike, as_choice, as_int_seed, as_scalar, check_state, fingerprint
from ...problems.rmab import CoupledRMAB, require_memory
from .. import _relu
from ._common import as_device, cpu_threads
from ._training import (
    ReplayBuffer,
    _hidden,
    _int_option,
    _mlp,
    epsilon,
    learning_rate,
    network_layers,
    read_training_checkpoint,
    save_checkpoint,
    state_dtype,
)

ENUMERATE_UP_TO = 20_000  # feasible actions scored by a forward pass; beyond, the MIP


class SequoiaPolicy:
    """A Q-network over [x; one-hot(s)] and the exact argmax over C.

    Args:
        problem: the bandit.
        hidden: hidden layer widths (default (32, 32)).
        argmax: ``'auto'`` (enumeration when |C| ≤ 20,000, else the MIP), ``'enumerate'`` or ``'mip'``.
        bounds: ``'interval'`` or ``'bigm'`` for the MIP.
        seed: initial weights, exploration and replay sampling.
        device: torch device (default: CUDA when available).
        mip_options: SolveOptions for each MIP solve (time limit, threads).
        threads: torch's intra-op threads on the CPU while training and acting (default 1: the networks are tiny,
            and extra threads only add synchronisation; on a busy 2-core machine they made training 19× slower).

    ``act(states)`` is the greedy decision; ``state_dict()`` / ``load_state_dict()`` save and restore the network.
    """

    def __init__(
        self,
        problem: CoupledRMAB,
        *,
        hidden: tuple[int, ...] = (32, 32),
        argmax: str = "auto",
        bounds: str = "interval",
        seed: SeedLike = 0,
        device: str | None = None,
        mip_options: dict | None = None,
        threads: int = 1,
    ):
        import torch

        from ...core.solve import SolveOptions

        if not isinstance(problem, CoupledRMAB):
            raise InvalidProblemError(f"`problem` must be a CoupledRMAB; got {type(problem).__name__}")
        self.problem = problem
        self.hidden = _hidden(hidden)
        argmax = as_choice("options.argmax", argmax, ("auto", "enumerate", "mip"))
        self.bounds = as_choice("options.bounds", bounds, ("interval", "bigm"))
        self.n, self.J, self.S = problem.n_decisions, problem.n_arms, problem.n_states
        widths = (self.n + self.J * self.S, *self.hidden, 1)
        require_memory(
            "options.hidden",
            4 * 4 * sum(a * b for a, b in zip(widths[:-1], widths[1:])),
            f"a Q-network with layers {widths} (weights, target copy and Adam's moments)",
        )
        if argmax == "auto":
            argmax = "enumerate" if problem.count_actions(ENUMERATE_UP_TO) is not None else "mip"
        elif argmax == "enumerate" and problem.count_actions() is None:
            raise InvalidProblemError(
                "`options.argmax` = 'enumerate' needs a small action set; this one is too large "
                "to enumerate (use 'mip' or 'auto')"
            )
        self.argmax_kind = argmax
        self.device = as_device("options.device", device)
        self.threads = int(as_scalar("threads", threads, integer=True, minimum=1))
        self.dtype = torch.float32
        self.seed = as_int_seed(seed)
        self.fingerprint = fingerprint(problem)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net = _mlp(self.n + self.J * self.S, self.hidden, self.dtype).to(self.device)
        self.version = 0  # bumped on every weight change (invalidates argmax caches)
        self.mip_options = mip_options or SolveOptions(threads=1)
        self._actions = None
        if argmax == "enumerate":
            acts = problem.feasible_actions()
            self._actions_np = acts.astype(np.int64)
            self._actions = torch.as_tensor(np.array(acts), dtype=self.dtype, device=self.device)
        self._mip = None
        self._mip_version = -1
        self._cache: dict = {}
        self.mip_stats = {"solves": 0, "seconds": 0.0, "max_fidelity_error": 0.0, "fallbacks": 0}

    # -- network I/O ---------------------------------------------------------------------------------------------
    def inputs(self, states, xs):
        """Network inputs for states (B, J) and decisions (B, n)."""
        import torch

        enc = torch.as_tensor(_relu.encode_states(states, self.S), dtype=self.dtype, device=self.device)
        return torch.cat([torch.as_tensor(np.asarray(xs), dtype=self.dtype, device=self.device), enc], dim=-1)

    def q_values(self, states, xs, net=None) -> np.ndarray:
        import torch

        with torch.no_grad():
            return (net or self.net)(self.inputs(states, xs))[..., 0].cpu().numpy().astype(float)

    def layers(self, net=None):
        return network_layers(net or self.net)

    def state_dict(self) -> dict:
        """The network's weights, with the policy's ``kind`` and the ``fingerprint`` of the problem it was trained
        for (`orbudget.core.validation.fingerprint`)."""
        return {
            "kind": "SequoiaPolicy",
            "fingerprint": self.fingerprint,
            "net": {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()},
            "hidden": self.hidden,
            "seed": self.seed,
        }

    def load_state_dict(self, state: dict, *, field: str = "state") -> None:
        """Load a `state_dict` of a policy for the same problem with the same hidden layers; anything else
        (another problem, another kind of state, other layer shapes) raises InvalidProblemError naming ``field``."""
        state = check_state(state, kind="SequoiaPolicy", fingerprint=self.fingerprint, keys=("net", "hidden"), field=field)
        self._check_weights(state["net"], field, hidden=state["hidden"])
        self.net.load_state_dict(state["net"])
        self.touch()

    def _check_weights(self, weights, field: str, hidden=None) -> None:
        """``weights`` is a state dict of this policy's network: same names, same shapes."""
        import torch

        if hidden is not None:
            try:
                saved = tuple(int(h) for h in hidden)
            except (TypeError, ValueError):
                saved = hidden
            if saved != self.hidden:
                raise InvalidProblemError(
                    f"`{field}` holds a network with hidden layers {hidden!r}; this policy has {self.hidden}"
                )
        own = self.net.state_dict()
        if not isinstance(weights, dict) or set(weights) != set(own):
            raise InvalidProblemError(f"`{field}` does not hold this policy's network weights (expected entries {sorted(own)})")
        for k, v in own.items():
            w = weights[k]
            if not isinstance(w, torch.Tensor) or tuple(w.shape) != tuple(v.shape) or not w.is_floating_point():
                raise InvalidProblemError(
                    f"`{field}` entry {k!r} must be a float tensor of shape {tuple(v.shape)}; "
                    f"got {type(w).__name__} {tuple(getattr(w, 'shape', ()))}"
                )
            if not bool(torch.isfinite(w).all()):
                raise InvalidProblemError(f"`{field}` entry {k!r} holds NaN or infinite weights")

    def touch(self) -> None:
        """Call after changing the weights in place."""
        self.version += 1
        self._cache.clear()

    # -- the argmax over C ---------------------------------------------------------------------------------------
    def best(self, states, net=None, version=None) -> tuple[np.ndarray, np.ndarray]:
        """``(x (B, n), Q (B,))``: the exact argmax over C for each state in ``states`` (B, J) or (J,)."""
        states = np.atleast_2d(np.asarray(states, dtype=np.int64))
        net = net or self.net
        version = self.version if version is None else version
        if self.argmax_kind == "enumerate":
            return self._best_enumerate(states, net)
        xs = np.zeros((len(states), self.n), dtype=np.int64)
        qs = np.zeros(len(states))
        for i, s in enumerate(states):
            key = (id(net), version, s.tobytes())
            if key not in self._cache:
                self._cache[key] = self._best_mip(s, net, version)
            xs[i], qs[i] = self._cache[key]
        return xs, qs

    def _best_enumerate(self, states, net):
        import torch

        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        first = linears[0]
        with torch.no_grad():
            w = first.weight
            zx = self._actions @ w[:, : self.n].T  # (M, H1), once per call
            enc = torch.as_tensor(_relu.encode_states(states, self.S), dtype=self.dtype, device=self.device)
            zs = enc @ w[:, self.n :].T + first.bias  # (B, H1)
            rest = net[1:]
            out_x = np.zeros((len(states), self.n), dtype=np.int64)
            out_q = np.zeros(len(states))
            chunk = max(1, 2_000_000 // max(1, len(self._actions)))
            for lo in range(0, len(states), chunk):
                z = zs[lo : lo + chunk, None, :] + zx[None]  # (b, M, H1)
                q = rest(z)[..., 0] if len(linears) > 1 else z[..., 0]
                val, idx = q.max(dim=1)
                out_x[lo : lo + chunk] = self._actions_np[idx.cpu().numpy()]
                out_q[lo : lo + chunk] = val.cpu().numpy()
        return out_x, out_q

    def _best_mip(self, states, net, version):
        from ..highs.rmab import QNetworkMIP

        if self._mip is None or self._mip_version != (id(net), version):
            self._mip = QNetworkMIP(self.problem, network_layers(net), self.bounds, self.mip_options)
            self._mip_version = (id(net), version)
        x, value, info = self._mip.argmax(states)
        self.mip_stats["solves"] += 1
        self.mip_stats["seconds"] += info["seconds"]
        self.mip_stats["max_fidelity_error"] = max(self.mip_stats["max_fidelity_error"], self._mip.max_fidelity_error)
        if x is None:  # time limit without a solution: best of sampled feasible actions by Q
            self.mip_stats["fallbacks"] += 1
            rng = np.random.default_rng(int(states.sum()))
            xs = np.stack([np.zeros(self.n, dtype=np.int64)] + [self.problem.sample_action(rng) for _ in range(64)])
            q = self.q_values(np.broadcast_to(states, (len(xs), self.J)), xs, net)
            return xs[int(np.argmax(q))], float(q.max())
        return x, value

    def act(self, states) -> np.ndarray:
        """The greedy decision for one joint state."""
        return self.best(states)[0][0]

    # -- training ------------------------------------------------------------------------------------------------
    def fit(self, **kw) -> dict:
        """Warm start, then DQN for ``episodes`` episodes of ``problem.horizon`` steps (see `_fit` for the
        options). ``checkpoint``: a path written atomically every ``checkpoint_every`` episodes and at the end
        (networks, optimiser, replay buffer, random state); a run with an existing checkpoint resumes from it and
        ends exactly as an uninterrupted run would. ``time_limit`` (seconds), Ctrl-C or a ``callback`` returning
        True stop training early; the info dict says so (``stopped``: ``Limit.TIME`` or ``Limit.INTERRUPTED``).
        ``callback(info)`` is called after each episode with the keys of `orbudget.core.progress` (``unit``
        ``'episodes'``) plus ``episode``, ``reward`` (the episode's mean reward) and ``epsilon``. ``run``: a
        `Run` to report to instead (``solve`` passes its own; then ``time_limit`` and
        ``callback`` are the run's)."""
        with cpu_threads(self.device, self.threads):
            return self._fit(**kw)

    def _fit(
        self,
        *,
        episodes: int = 200,
        warm_steps: int = 300,
        warm_samples: int = 2000,
        lr: float = 1e-3,
        batch_size: int = 32,
        replay: int = 10_000,
        target_every: int = 25,
        updates_per_step: int = 2,
        n_step: int = 1,
        eps_start: float = 0.9,
        eps_end: float = 0.05,
        train_initial: str = "uniform",
        checkpoint=None,
        checkpoint_every: int = 5,
        time_limit: float | None = None,
        callback=None,
        run=None,
    ) -> dict:
        """The training loop behind `fit`."""
        import torch

        p = self.problem
        episodes = _int_option("episodes", episodes, 0)
        warm_steps = _int_option("warm_steps", warm_steps, 0)
        warm_samples = _int_option("warm_samples", warm_samples, 1)
        lr = as_scalar("options.lr", lr, minimum=0.0, strict_minimum=True)
        batch_size = _int_option("batch_size", batch_size, 1)
        replay = _int_option("replay", replay, 1)
        if replay < batch_size:
            raise InvalidProblemError(
                f"`options.replay` must hold at least one batch (`options.batch_size` = {batch_size}); got {replay}"
            )
        target_every = _int_option("target_every", target_every, 1)
        updates_per_step = _int_option("updates_per_step", updates_per_step, 0)
        n_step = _int_option("n_step", n_step, 1)
        eps_start = as_scalar("options.eps_start", eps_start, minimum=0.0, maximum=1.0)
        eps_end = as_scalar("options.eps_end", eps_end, minimum=0.0, maximum=1.0)
        checkpoint_every = _int_option("checkpoint_every", checkpoint_every, 1)
        train_initial = as_choice("options.train_initial", train_initial, ("uniform", "problem"))
        if time_limit is not None:
            time_limit = as_scalar("time_limit", time_limit, minimum=0.0)
        if callback is not None and not callable(callback):
            raise InvalidProblemError(f"`callback` must be callable; got {callback!r}")
        if checkpoint is not None and not isinstance(checkpoint, (str, Path)):
            raise InvalidProblemError(f"`options.checkpoint` must be a file path; got {type(checkpoint).__name__}")
        sdt = state_dtype(self.S)
        row = 2 * self.J * sdt.itemsize + self.n + 16
        require_memory("options.replay", replay * row, f"a replay buffer of {replay} transitions")
        require_memory(
            "options.warm_samples", warm_samples * (self.n + self.J * self.S) * 12, f"{warm_samples} warm-start samples"
        )
        gamma = p.discount
        if run is None:
            from types import SimpleNamespace

            run = Run(
                SimpleNamespace(time_limit=time_limit, callback=callback, progress=False, incumbent=None),
                total=episodes,
                unit="episodes",
                desc="sequoia",
            )
        rng = np.random.default_rng(self.seed)
        target = _mlp(self.n + self.J * self.S, self.hidden, self.dtype).to(self.device)
        target.load_state_dict(self.net.state_dict())
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        buf = ReplayBuffer(replay, self.J, self.n, sdt)
        state = {"episode": 0, "step": 0, "size": 0, "pos": 0, "warm_loss": None, "history": [], "target_version": 0}
        path = Path(checkpoint) if checkpoint is not None else None
        resumed = False
        if path is not None and path.exists():
            ck = read_training_checkpoint(self, path, replay)
            self.net.load_state_dict(ck["net"])
            target.load_state_dict(ck["target"])
            opt.load_state_dict(ck["opt"])
            state = ck["state"]
            buf = ReplayBuffer(replay, self.J, self.n, sdt, arrays=ck["buffer"], size=state["size"], pos=state["pos"])
            rng.bit_generator.state = ck["rng"]
            resumed = True
            self.touch()

        def save():
            state["size"], state["pos"] = buf.size, buf.pos
            save_checkpoint(
                path,
                {
                    "kind": "SequoiaCheckpoint",
                    "fingerprint": self.fingerprint,
                    "hidden": self.hidden,
                    "net": self.net.state_dict(),
                    "target": target.state_dict(),
                    "opt": opt.state_dict(),
                    "buffer": buf.arrays,
                    "state": state,
                    "rng": rng.bit_generator.state,
                },
            )

        t0 = time.perf_counter()
        stopped = None
        try:
            if not resumed and warm_steps > 0:
                state["warm_loss"] = self._warm_start(rng, warm_steps, warm_samples, lr, run)
                target.load_state_dict(self.net.state_dict())
                if run.out_of_time():
                    stopped = Limit.TIME
                else:
                    save()
            initial = np.full((self.J, self.S), 1.0 / self.S) if train_initial == "uniform" else None
            env = p.env(rng, initial=initial)
            total_steps = max(1, episodes * p.horizon)
            loss_fn = torch.nn.SmoothL1Loss()
            powers = gamma ** np.arange(n_step + 1)

            while state["episode"] < episodes and stopped is None:
                env.rng = rng
                s, _ = env.reset()
                ep_reward = 0.0
                pending: list = []
                for step_in_episode in range(p.horizon):
                    eps = epsilon(state["step"], total_steps, eps_start, eps_end)
                    x = p.sample_action(rng) if rng.random() < eps else self.act(s)
                    s2, r, *_ = env.step(x)
                    pending.append((s, x, r))
                    last = step_in_episode == p.horizon - 1
                    while pending and (len(pending) == n_step or last):  # truncation: shorter returns, bootstrap
                        buf.push(pending, s2, gamma, powers)
                        pending.pop(0)
                    ep_reward += r
                    s = s2
                    state["step"] += 1
                    for _ in range(updates_per_step if buf.size >= batch_size else 0):
                        b = buf.sample(rng, batch_size)
                        _, q_next = self.best(b["s2"], target, state["target_version"])
                        y = b["r"] + b["g"] * q_next
                        pred = self.net(self.inputs(b["s"], b["x"]))[:, 0]
                        loss = loss_fn(pred, torch.as_tensor(y, dtype=self.dtype, device=self.device))
                        for group in opt.param_groups:
                            group["lr"] = learning_rate(lr, state["step"], total_steps)
                        opt.zero_grad()
                        loss.backward()
                        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
                        opt.step()
                        self.touch()
                    if state["step"] % target_every == 0:
                        target.load_state_dict(self.net.state_dict())
                        state["target_version"] += 1
                    if run.out_of_time():  # an episode of MIP argmaxes can be long: stop within it too
                        stopped = Limit.TIME
                        break
                if stopped is not None:
                    break
                state["episode"] += 1
                state["history"].append(ep_reward / p.horizon)
                if state["episode"] % checkpoint_every == 0:
                    save()
                if run.step(episode=state["episode"], reward=ep_reward / p.horizon, epsilon=eps) and state["episode"] < episodes:
                    stopped = run.limit
        except KeyboardInterrupt:
            stopped = Limit.INTERRUPTED
            if run.limit is None:
                run.limit, run.message = Limit.INTERRUPTED, f"interrupted after {state['episode']} training episodes"
        if stopped is None:
            save()
        self.touch()
        return {
            "episodes_trained": state["episode"],
            "steps": state["step"],
            "warm_loss": state["warm_loss"],
            "train_rewards": list(state["history"]),
            "train_seconds": time.perf_counter() - t0,
            "resumed": resumed,
            "stopped": stopped,
        }

    def _warm_start(self, rng, steps, samples, lr, run=None) -> float:
        """Regress Q on the one-step expected reward over random states × random feasible actions (plus the empty
        action and the all-top/all-bottom states); stops early once ``run`` is out of time."""
        import torch

        p = self.problem
        states = rng.integers(0, self.S, (samples, self.J))
        states[: samples // 20] = 0
        states[samples // 20 : samples // 10] = self.S - 1
        xs = np.stack([p.sample_action(rng) if rng.random() > 0.1 else np.zeros(self.n, np.int64) for _ in range(samples)])
        y = torch.as_tensor(p.reward(states, xs), dtype=self.dtype, device=self.device)
        inputs = self.inputs(states, xs)
        opt = torch.optim.Adam(self.net.parameters(), lr=3 * lr)
        loss = torch.zeros(())
        for _ in range(steps):
            idx = torch.as_tensor(rng.integers(0, samples, min(128, samples)), device=self.device)
            loss = torch.mean((self.net(inputs[idx])[:, 0] - y[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if run is not None and run.out_of_time():
                break
        self.touch()
        with torch.no_grad():
            return float(torch.mean((self.net(inputs)[:, 0] - y) ** 2))
