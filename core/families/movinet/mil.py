"""Weakly supervised MIL ranking head (Sultani, Chen, Shah, "Real-world Anomaly Detection in Surveillance
Videos", CVPR 2018), as a plain ``torch.nn.Module`` with its training loop beside it.

A video is a *bag* of segment embeddings and only the bag has a label. The loss pushes the top-scored
segment of an abnormal bag above the top-scored segment of a normal bag by a margin of 1 (hinge), with a
temporal-smoothness term (neighbouring segments of an abnormal bag score alike) and a sparsity term
(only a few segments of an abnormal bag are abnormal). Segment scores are in 0..1 (sigmoid).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn


class MilHead(nn.Module):
    """Segment scorer: (..., D) standardised embeddings -> (...) scores in 0..1."""

    def __init__(self, dim: int, hidden: int = 64, dropout: float = 0.3):
        super().__init__()
        self.dim, self.hidden = dim, hidden
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)).squeeze(-1)


def mil_ranking_loss(
    abnormal: torch.Tensor,
    abnormal_mask: torch.Tensor,
    normal: torch.Tensor,
    normal_mask: torch.Tensor,
    smooth: float = 8e-5,
    sparse: float = 8e-5,
) -> torch.Tensor:
    """Sultani et al. loss for P paired bags, padded to S segments. Scores (P,S) in 0..1; masks (P,S) bool
    (True = a real segment).

    mean over pairs of hinge(1 - max(abnormal) + max(normal)) + smooth * sum((s_i - s_{i+1})^2)
    + sparse * sum(s) over the abnormal bag's real segments.
    """
    a_max = abnormal.masked_fill(~abnormal_mask, -1.0).max(1).values
    n_max = normal.masked_fill(~normal_mask, -1.0).max(1).values
    hinge = torch.relu(1.0 - a_max + n_max)
    both = abnormal_mask[:, 1:] & abnormal_mask[:, :-1]
    smooth_term = (((abnormal[:, 1:] - abnormal[:, :-1]) ** 2) * both).sum(1)
    sparse_term = (abnormal * abnormal_mask).sum(1)
    return (hinge + smooth * smooth_term + sparse * sparse_term).mean()


def _pad(bags: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Bags (S_i, D) -> (B, S, D) zero-padded and (B, S) mask."""
    s = max(len(b) for b in bags)
    x = np.zeros((len(bags), s, bags[0].shape[1]), np.float32)
    m = np.zeros((len(bags), s), bool)
    for i, b in enumerate(bags):
        x[i, : len(b)], m[i, : len(b)] = b, True
    return torch.as_tensor(x), torch.as_tensor(m)


def train_mil(
    bags: Sequence[np.ndarray],
    labels: Sequence[int],
    epochs: int = 300,
    pairs_per_epoch: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-3,
    hidden: int = 64,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[MilHead, list[float]]:
    """Fit on bags (each (S_i, D), already standardised) with labels 1/0. Returns (head in eval mode, losses).

    Each epoch scores every bag once and draws ``pairs_per_epoch`` (abnormal, normal) pairs.
    Deterministic for a given seed (torch and numpy generators are seeded locally).
    """
    labels = np.asarray(labels, int)
    pos = [b for b, y in zip(bags, labels, strict=True) if y]
    neg = [b for b, y in zip(bags, labels, strict=True) if not y]
    if not pos or not neg:
        raise ValueError("MIL needs at least one abnormal and one normal video")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xa, ma = _pad(pos)
    xn, mn = _pad(neg)
    head = MilHead(xa.shape[2], hidden)
    opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    head.train()
    for epoch in range(epochs):
        ia = torch.as_tensor(rng.integers(0, len(pos), pairs_per_epoch))
        ib = torch.as_tensor(rng.integers(0, len(neg), pairs_per_epoch))
        sa, sn = head(xa), head(xn)
        loss = mil_ranking_loss(sa[ia], ma[ia], sn[ib], mn[ib])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if progress and (epoch % 20 == 19 or epoch == epochs - 1):
            progress((epoch + 1) / epochs, f"MIL epoch {epoch + 1}/{epochs}, loss {losses[-1]:.3f}")
    head.eval()
    return head, losses


def head_to_arrays(head: MilHead) -> dict[str, np.ndarray]:
    """Weights as plain arrays (saved with np.savez: no pickle in model files)."""
    out = {f"w.{k}": v.detach().cpu().numpy() for k, v in head.state_dict().items()}
    out["w.__shape"] = np.array([head.dim, head.hidden])
    return out


def head_from_arrays(arrays: dict[str, np.ndarray]) -> MilHead:
    dim, hidden = (int(v) for v in arrays["w.__shape"])
    head = MilHead(dim, hidden)
    state = {k[2:]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("w.") and k != "w.__shape"}
    head.load_state_dict(state)
    head.eval()
    return head
