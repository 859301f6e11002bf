"""The background worker: a separate Python process that does the heavy work, and the `Job` that
drives it from Blender. They talk in JSON lines (see ``protocol.py``)."""
