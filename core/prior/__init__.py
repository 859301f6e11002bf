"""A learned prior over body poses (``gmm.PosePrior``): how likely a pose of joints 1..21 is, from motion capture."""
