"""Grounding a video's motion under a static camera: the floor, a world frame with the floor at Z = 0, each
person's distance steadied by the floor, foot contact per frame and foot lock (``ground.ground_people``).

Light on purpose: the Blender side imports ``skeleton`` for the contact names; the pipeline imports ``ground``.
"""
