"""Body models: SMPL, SMPL-X (the user's licensed files) and the open default body."""
