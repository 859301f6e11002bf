"""Estimators: one module per estimator behind one interface (image frames -> body parameters)."""
