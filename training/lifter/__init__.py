"""The lifter: synthetic MediaPipe-like pairs from the pose bank, the networks, training and ONNX export."""
