"""Entry script of the worker process: ``python launch.py``.

It loads the ``core`` folder as a package of its own (``pocket_mocap_core``) instead of importing the
add-on, so the worker never imports Blender, and works the same from the source tree, from an
installed extension (``bl_ext.<repo>.pocket_mocap``) and from the command-line tool.
"""

import importlib.util
import os
import sys
from pathlib import Path

PACKAGE = "pocket_mocap_core"


def load_core() -> None:
    core_dir = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location(
        PACKAGE, core_dir / "__init__.py", submodule_search_locations=[str(core_dir)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)


if __name__ == "__main__":
    load_core()
    from pocket_mocap_core.worker.main import main  # noqa: E402 - needs load_core() first

    code = main()
    # The results are written and closed and the last event is sent: leave without the interpreter's teardown of
    # numpy, OpenCV and onnxruntime (0.05-0.1 s that the parent and the user wait through).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
