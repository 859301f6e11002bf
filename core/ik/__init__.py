"""Inverse kinematics: joint positions (+ twist angles) -> local joint rotations."""
