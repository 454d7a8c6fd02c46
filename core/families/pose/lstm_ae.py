"""LSTM autoencoder over fixed-length feature sequences (per-track skeleton windows).

The encoder reads the window and keeps its last hidden state (a summary of the motion); the decoder
unrolls that summary back into the window. A window unlike the training windows reconstructs badly:
its masked mean squared error is the anomaly measure.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn


class LSTMAutoencoder(nn.Module):
    """(B,T,F) -> (B,T,F) reconstruction. hidden: size of the summary; layers per LSTM."""

    def __init__(self, n_features: int, hidden: int = 64, layers: int = 1):
        super().__init__()
        self.n_features, self.hidden, self.layers = n_features, hidden, layers
        self.encoder = nn.LSTM(n_features, hidden, layers, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, n_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.encoder(x)
        summary = h[-1].unsqueeze(1).expand(-1, x.shape[1], -1)
        y, _ = self.decoder(summary)
        return self.out(y)


def masked_errors(model: LSTMAutoencoder, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-window mean squared reconstruction error over valid entries: (B,T,F) x2 -> (B,)."""
    err = (model(x) - x) ** 2 * mask
    return err.sum((1, 2)) / mask.sum((1, 2)).clamp(min=1.0)


def train_autoencoder(
    x: np.ndarray,
    mask: np.ndarray,
    hidden: int = 64,
    epochs: int = 30,
    batch: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[LSTMAutoencoder, list[float]]:
    """Fit on windows x (N,T,F) float32 (already standardised, missing entries 0) with mask (N,T,F).

    Deterministic for a seed. Returns (model in eval mode, mean loss per epoch)."""
    if len(x) == 0:
        raise ValueError("no training windows")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xt, mt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(mask, dtype=torch.float32)
    model = LSTMAutoencoder(x.shape[2], hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for epoch in range(epochs):
        order = torch.as_tensor(rng.permutation(len(x)))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            loss = masked_errors(model, xt[idx], mt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
        if progress:
            progress((epoch + 1) / epochs, f"LSTM-AE epoch {epoch + 1}/{epochs}, loss {losses[-1]:.4f}")
    model.eval()
    return model, losses


def errors(model: LSTMAutoencoder, x: np.ndarray, mask: np.ndarray, batch: int = 512) -> np.ndarray:
    """(N,) reconstruction errors of windows (N,T,F), no gradients."""
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.as_tensor(x[i : i + batch], dtype=torch.float32)
            mb = torch.as_tensor(mask[i : i + batch], dtype=torch.float32)
            out.append(masked_errors(model, xb, mb).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def to_arrays(model: LSTMAutoencoder) -> dict[str, np.ndarray]:
    out = {f"w.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    out["w.__shape"] = np.array([model.n_features, model.hidden, model.layers])
    return out


def from_arrays(arrays: dict[str, np.ndarray]) -> LSTMAutoencoder:
    n, hidden, layers = (int(v) for v in arrays["w.__shape"])
    model = LSTMAutoencoder(n, hidden, layers)
    model.load_state_dict(
        {k[2:]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("w.") and k != "w.__shape"}
    )
    model.eval()
    return model
