"""Pure-Python heart of Pocket Mocap: nothing below this folder imports ``bpy``.

Subpackages use relative imports only, so the background worker can load this folder on its own
(see ``core/worker/launch.py``) without importing the add-on or Blender.
"""
