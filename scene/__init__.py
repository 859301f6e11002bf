"""The only library that builds things in Blender: rigs, shape keys, animation, camera, FBX.

Functions take ``context`` and objects as arguments; none reads ``bpy.context`` or keeps references
to Blender objects between calls.
"""
