"""Training-time code (PyTorch): network definitions, losses, data, training and export. Never part of
the extension zip; needs ``torch==2.13.0``."""
