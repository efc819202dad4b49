"""The training loop, early stopping and checkpoints."""
