"""The bundled pose prior at run time: a Gaussian mixture over the 63 axis-angle values of body joints 1..21 (the
pelvis's own rotation excluded), fitted to the motion-capture pose bank (``python3 tools/dev.py train-prior``;
training/prior/). It gives the Levenberg-Marquardt fit a residual whose squared norm is the pose's negative log
likelihood under its most likely component, as SMPLify does, so elbows, knees and spine stay human where the
landmarks say little (occlusion, floor poses).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import PocketMocapError

BUNDLED = Path(__file__).resolve().parent / "models" / "pose_prior.npz"
DIMENSIONS = 63
REQUIRED = ("means", "precision_cholesky", "log_weights", "record")


class PosePrior:
    """``residuals(pose)``: ``(B, 63)`` -> ``(B, 63)``; ``energy(pose)``: ``(B,)`` negative log likelihood (up to a
    constant), lower is more likely."""

    def __init__(self, path: Path = BUNDLED):
        if not path.is_file():
            raise PocketMocapError(f"The pose prior {path.name} is missing from the extension. Reinstall it.")
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in REQUIRED if key not in data.files]
            if missing:
                raise PocketMocapError(f"{path.name} is not a trained pose prior (it lacks {', '.join(missing)}).")
            self.means = data["means"].astype(np.float64)
            self.cholesky = data["precision_cholesky"].astype(np.float64)  # precision = L @ L.T
            log_weights = data["log_weights"].astype(np.float64)
            self.record = json.loads(str(data["record"]))
        if self.means.shape[1:] != (DIMENSIONS,) or int(self.record.get("iterations", 0)) <= 0:
            raise PocketMocapError(f"{path.name} has no record of a fit to motion capture, so it is not used.")
        self.shifts = np.matmul(self.means[:, None], self.cholesky)[:, 0]  # (K, 63): mean L
        self.stacked = np.ascontiguousarray(self.cholesky.transpose(1, 0, 2).reshape(DIMENSIONS, -1))  # (63, K 63)
        log_det = np.log(np.abs(np.diagonal(self.cholesky, axis1=1, axis2=2))).sum(axis=1)
        # each component's constant: -log w - log det(L); its energy is that plus half the squared residual
        self.constant = -log_weights - log_det
        self.floor = float(self.constant.min())

    def _whitened(self, pose: np.ndarray) -> np.ndarray:
        """``(B, K, 63)``: every component's ``L.T (pose - mean)``, as ``pose L - mean L``. The fit calls this for
        every finite-difference step, whose rows differ from the first in one value each: those rows are the first
        row's product plus the change times one row of each ``L``, instead of a product of their own."""
        base = (pose[:1] @ self.stacked).reshape(1, *self.shifts.shape) - self.shifts
        rows, columns = np.nonzero(pose[1:] != pose[:1])
        if len(np.unique(rows)) < len(rows):  # rows differing in several values: a batch of unrelated poses
            return (pose @ self.stacked).reshape(len(pose), *self.shifts.shape) - self.shifts
        whitened = np.repeat(base, len(pose), axis=0)
        change = pose[rows + 1, columns] - pose[0, columns]
        whitened[rows + 1] += change[:, None, None] * self.cholesky[:, columns].transpose(1, 0, 2)
        return whitened

    def energy(self, pose: np.ndarray) -> np.ndarray:
        whitened = self._whitened(np.asarray(pose, np.float64).reshape(-1, DIMENSIONS))
        return (0.5 * (whitened ** 2).sum(axis=2) + self.constant).min(axis=1)

    def residuals(self, pose: np.ndarray) -> np.ndarray:
        """The most likely component's whitened pose, with its constant folded in as one more value so that the
        squared norm / 2 is :meth:`energy` minus the best constant."""
        whitened = self._whitened(np.asarray(pose, np.float64).reshape(-1, DIMENSIONS))
        total = 0.5 * (whitened ** 2).sum(axis=2) + self.constant
        best = total.argmin(axis=1)
        chosen = whitened[np.arange(len(best)), best]
        offset = np.sqrt(2 * (self.constant[best] - self.floor))
        return np.column_stack([chosen, offset])
