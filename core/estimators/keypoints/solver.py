"""A small Levenberg-Marquardt solver whose Jacobian comes from one batched call of the residuals.

``residuals(params: (B, P)) -> (B, M)``: evaluating all P finite-difference steps at once keeps the
Python overhead of forward kinematics to one pass per iteration. A caller that knows a faster way to evaluate
the P steps (each changes one parameter) passes it as ``stepped(x, step) -> (P, M)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def levenberg_marquardt(residuals: Callable[[np.ndarray], np.ndarray], start: np.ndarray, iterations: int = 12,
                        step: float = 1e-4, damping: float = 1e-2, tolerance: float = 1e-9,
                        stepped: Callable[[np.ndarray, float], np.ndarray] | None = None) -> np.ndarray:
    """Minimise ``|residuals(x)|²`` from ``start (P,)``; returns the best ``x (P,)`` found. ``stepped(x, step)``,
    where given, equals ``residuals(x + step * I)``."""
    x = np.asarray(start, np.float64).copy()
    r = residuals(x[None])[0]
    cost = float(r @ r)
    probes = np.eye(len(x)) * step
    stepped = stepped or (lambda at, _: residuals(at + probes))
    for _ in range(iterations):
        jacobian = ((stepped(x, step) - r) / step).T  # (M, P)
        normal = jacobian.T @ jacobian
        gradient = jacobian.T @ r
        while True:
            delta = np.linalg.solve(normal + damping * (np.diag(np.diag(normal)) + 1e-9 * np.eye(len(x))),
                                    -gradient)
            candidate = x + delta
            r_new = residuals(candidate[None])[0]
            cost_new = float(r_new @ r_new)
            if cost_new < cost:
                improvement = cost - cost_new
                x, r, cost = candidate, r_new, cost_new
                damping = max(damping / 3, 1e-7)
                break
            damping *= 4
            if damping > 1e8:
                return x
        if improvement < tolerance * max(cost, 1e-12):
            break
    return x
