"""Sidebar panels and add-on preferences: drawing only; actions are operators."""

import bpy

from . import preferences, retarget, sidebar

CLASSES = (*preferences.CLASSES, *sidebar.CLASSES, *retarget.CLASSES)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
