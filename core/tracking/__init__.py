"""People: every person in a frame (detection, tiles, landmarks per person) and their identities across frames."""
