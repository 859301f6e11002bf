# SPDX-License-Identifier: GPL-3.0-or-later
"""Pocket Mocap: a photo or a video of a person becomes a rigged, shape-keyed 3D human.

Only registration lives here; modules are imported inside ``register()`` so that importing the
package (the worker, the command-line tool) does not pull in Blender's UI code.
"""


def register() -> None:
    from . import operators, panels

    operators.register()
    panels.register()


def unregister() -> None:
    from . import operators, panels

    panels.unregister()
    operators.unregister()
