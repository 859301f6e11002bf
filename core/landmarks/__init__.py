"""Body, hand and face landmarks on onnxruntime: MediaPipe 0.10.14's bundled models, converted to ONNX, with
our own pre- and post-processing that reproduces its Holistic graph (no ``mediapipe`` at run time)."""
