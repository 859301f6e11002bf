"""Run inside the worker: read media, find the person, estimate, track, smooth, write results."""
