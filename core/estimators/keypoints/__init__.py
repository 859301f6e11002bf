"""The keypoint-guided default estimator: MediaPipe landmarks fitted with IK and a short refinement."""
