"""Plain ``torch.nn.Module`` models, one per file; training and inference wrappers live in core.scorers."""
