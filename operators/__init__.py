"""Blender operators: thin. Validate, start or poll jobs, call ``scene/``, report a sentence."""

import bpy

from . import body, choose, export, jobs, people, retarget, run, settings

CLASSES = (*settings.CLASSES, *choose.CLASSES, *run.CLASSES, *people.CLASSES, *body.CLASSES, *export.CLASSES,
           *retarget.CLASSES)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    settings.attach()
    retarget.attach()


def unregister() -> None:
    jobs.stop_active_job()
    retarget.detach()
    settings.detach()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
