"""Live bidders: RLB (`RLBBidder`) and adaptive pacing (`PacingBidder`) as objects that bid one auction at a time
(``act(ctr)``, ``update(won, price)``, ``state_dict()``), bid for bid the same as the replays of methods ``rlb``
and ``dual_pacing`` in ``bidding.py``."""

from __future__ import annotations

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.validation import as_scalar, check_state, state_scalar
from ...problems.bidding import BiddingCampaign
from ._online import EUCLIDEAN, _dual_step
from .bidding import rlb_bid, rlb_table
from .bidding_baselines import pacing_parameters


class _LiveBidder:
    """What a live bidder keeps for one episode (the budget and the auctions left), with the checks every bidder
    shares; subclasses give ``act`` its rule and may extend ``reset``, ``update`` and the state."""

    def __init__(self, campaign: BiddingCampaign):
        self.campaign = campaign
        self.reset()

    def reset(self) -> None:
        """A new episode: the whole budget and ``episode_length`` auctions ahead."""
        self.remaining_budget = int(self.campaign.budget)
        self.remaining_auctions = int(self.campaign.episode_length)

    def _next_auction(self, ctr) -> float:
        """``ctr`` checked, once the episode is known to have an auction left."""
        if self.remaining_auctions < 1:
            raise InvalidProblemError("the episode is over (no auction left); call reset() for a new one")
        return as_scalar("ctr", ctr, minimum=0.0, maximum=1.0)

    def update(self, won: bool, price: int | None = None) -> None:
        """The outcome of the auction just bid on: when ``won``, the winner pays ``price``, which must be given (a
        lost auction costs nothing; its price may be unknown and left out)."""
        self._spend(won, price)

    def _spend(self, won: bool, price) -> int:
        spend = 0
        if won:
            if price is None:
                raise InvalidProblemError(
                    "`price` is missing: a won auction spends its price from the budget; call update(won=True, price=...)"
                )
            spend = int(as_scalar("price", price, integer=True, minimum=0))
            if spend > self.remaining_budget:
                raise InvalidProblemError(
                    f"`price` {spend} is above the budget left, {self.remaining_budget}: a bid "
                    "never exceeds it, so this auction cannot have been won at that price"
                )
            self.remaining_budget -= spend
        self.remaining_auctions -= 1
        return spend

    def state_dict(self) -> dict:
        return {"remaining_budget": self.remaining_budget, "remaining_auctions": self.remaining_auctions}

    def load_state_dict(self, state: dict) -> None:
        """Resume an episode from `state_dict`: the budget left within 0..budget and the auctions left within
        0..episode_length (whole numbers), else an InvalidProblemError naming the entry; nothing is loaded then."""
        check_state(state, kind=type(self).__name__, keys=("remaining_budget", "remaining_auctions"))
        budget = int(state_scalar(state, "remaining_budget", integer=True, minimum=0, maximum=self.campaign.budget))
        auctions = int(state_scalar(state, "remaining_auctions", integer=True, minimum=0, maximum=self.campaign.episode_length))
        self.remaining_budget, self.remaining_auctions = budget, auctions


class RLBBidder(_LiveBidder):
    """RLB as a live bidder, the same shape as the other step-by-step policies: ``act(ctr) -> bid`` for the next
    auction, ``update(won, price)`` with its outcome, ``state_dict()`` / ``load_state_dict()`` to save and resume.
    The value table of ``campaign`` (the CTR-integrated DP with ``exact``, else the θ̄-DP) is built once; a bid never
    exceeds the budget left or the top price.

    Examples:
        >>> import orbudget as ob
        >>> from orbudget.solvers.numba.bidders import RLBBidder
        >>> c = ob.BiddingCampaign.synthetic(n_test=100, n_train=500, episode_length=20, budget_fraction=1 / 4, seed=0)
        >>> bidder = RLBBidder(c)
        >>> a = bidder.act(0.002)                # bid for an impression of CTR 0.002
        >>> bidder.update(won=a >= 30, price=30)  # the auction's outcome (the winner pays the price)
        >>> bidder.remaining_auctions
        19
    """

    def __init__(self, campaign: BiddingCampaign, exact: bool = True):
        self.table = rlb_table(campaign, exact=bool(exact))
        super().__init__(campaign)

    def bid(self, ctr: float, remaining_budget: int, remaining_auctions: int) -> int:
        """The bid for an impression of CTR ``ctr`` with that budget and that many auctions left (this one
        included); stateless."""
        ctr = as_scalar("ctr", ctr, minimum=0.0, maximum=1.0)
        return rlb_bid(self.table, remaining_auctions, remaining_budget, ctr, self.campaign.max_bid)

    def act(self, ctr: float) -> int:
        """The bid for the next auction of this episode."""
        return self.bid(self._next_auction(ctr), self.remaining_budget, self.remaining_auctions)


class PacingBidder(_LiveBidder):
    """Adaptive pacing (Balseiro and Gur 2019; the ``dual_pacing`` method) as a live bidder: ``act(ctr)`` bids
    min(⌊κθ/(1+μ)⌋, b, δmax), and ``update(won, price)`` takes the dual step μ ← max(0, μ − η(1 − z/ρ)) on the spend z
    (the price when won, 0 when lost: a lost auction's price is never needed), with ρ = B/T, through the replay's
    own kernel. ``state_dict()`` / ``load_state_dict()`` save and resume an episode. Bid for bid the same as
    ``solve(campaign, method="dual_pacing")`` on a replayed log.

    Args:
        campaign: a ``BiddingCampaign`` (its training log tunes μ₁).
        scale: c in the step size η = c/√T (default 0.1).
    """

    def __init__(self, campaign: BiddingCampaign, scale: float = 0.1):
        self.kappa, self.step_size, self.initial_dual = pacing_parameters(campaign, scale)
        self._per_round = max(campaign.budget / campaign.episode_length, 1e-12)  # ρ, as in the replay
        self._rate, self._floor = np.array([1.0]), np.zeros(1)
        super().__init__(campaign)

    def reset(self) -> None:
        """A new episode: the whole budget, ``episode_length`` auctions ahead, μ back to μ₁."""
        super().reset()
        self.mu = float(self.initial_dual)

    def act(self, ctr: float) -> int:
        """The bid for the next auction of this episode."""
        ctr = self._next_auction(ctr)
        return int(min(int(self.kappa * ctr / (1.0 + self.mu)), self.remaining_budget, self.campaign.max_bid))

    def update(self, won: bool, price: int | None = None) -> None:
        """The outcome of the auction just bid on (the winner pays ``price``), and the dual step on the spend."""
        use = np.array([self._spend(won, price) / self._per_round])
        mu = np.array([self.mu])
        _dual_step(mu, use, self._rate, self._rate, self._floor, self.step_size, EUCLIDEAN, 0.0, np.zeros(1))
        self.mu = float(mu[0])

    def state_dict(self) -> dict:
        return {**super().state_dict(), "mu": self.mu}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, kind=type(self).__name__, keys=("mu",))
        mu = float(state_scalar(state, "mu", minimum=0.0))
        super().load_state_dict(state)
        self.mu = mu
