"""Body-model files judged completely before use: every flaw named with a sentence, no pickle's code run, no
memory spent on what a header or a pickle only claims."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_mocap.core.errors import BodyModelError

from . import make as m


def test_valid_random_models_pass_and_each_flaw_is_named():
    from pocket_mocap.core.bodymodel.files import check_model_arrays

    for family in ("smpl", "smplx"):
        check_model_arrays(m.model_arrays(family), family, "random")
    arrays = m.model_arrays("smpl")
    for change, says in ((lambda a: a["f"].__setitem__((0, 0), 6890), "outside the mesh"),
                         (lambda a: a["weights"].__setitem__((3, 3), np.nan), "NaN"),
                         (lambda a: a.__setitem__("posedirs", a["posedirs"][:, :, :7]), "posedirs has shape")):
        broken = {key: value.copy() for key, value in arrays.items()}
        change(broken)
        with pytest.raises(BodyModelError, match=says):
            check_model_arrays(broken, "smpl", "random")


@pytest.mark.parametrize("name, make, says", [
    ("m.npz", m.npz_claiming({"v_template": (10 ** 9, 3)}), "GB of memory"),
    ("m.pkl", m.billion_laughs(), "v_template holds Python objects"),
    ("m.pkl", m.malicious_pickle(print, ("pwned",)), 'asks to load "(__builtin__|builtins).print"'),
    ("m.pkl", m.sparse_regressor((10 ** 6, 10 ** 6)), "cannot be read"),
    ("m.pkl", m.huge_length_pickle(), "damaged or truncated"),
    ("m.npz", m.model_npz(change=lambda a: a.__setitem__("f", a["f"] + 0.5)), "whole numbers"),
], ids=["huge-header", "billion-laughs", "pickle-runs-code", "huge-sparse", "huge-length", "float-faces"])
def test_hostile_model_files_cost_nothing_and_say_why(tmp_path, name, make, says):
    import resource

    from pocket_mocap.core.bodymodel.model import load_body_model

    path = tmp_path / name
    make(path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BodyModelError, match=says):
        load_body_model(path, "smpl")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000, "under 200 MB more at most"
