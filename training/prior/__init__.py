"""Fitting the pose prior (core/prior/) to the motion-capture pose bank."""
