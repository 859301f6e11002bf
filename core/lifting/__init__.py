"""The learned 3D stage: MediaPipe's 2D and world landmarks -> where the body's points really are (``lifter``)."""
