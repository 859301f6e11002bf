"""The 96 keypoints' layout: 29 HybrIK joints (24 SMPL joints + 5 leaves) then 67 surface markers
(MODELS.md A.8; SMPL vertex ids, so they apply to any SMPL-topology model). One source of truth."""

from __future__ import annotations

# (name, SMPL vertex id) in output order; LTHI and RTHI appear twice, as in the authors' tables.
MARKERS = (
    ("LBAK", 1812), ("LSCAP", 1252), ("RSCAP", 4735), ("LELBIN", 1725), ("LNWST", 1323), ("RNWST", 4804), ("RELBIN",
    5194), ("LTHI", 1454), ("RTHI", 4927), ("LKNI", 1058), ("RKNI", 4544), ("RFTHI", 4360), ("LFTHI", 874),
    ("RFTHIIN", 4841), ("LFTHIIN", 1368), ("MBLLY", 1769), ("RBUST", 6488), ("LBUST", 3040), ("RCHEECK", 3749),
    ("LCHEECK", 239), ("RFHD", 3512), ("LFHD", 0), ("RSHO", 5322), ("CLAV", 3171), ("LSHO", 1861), ("RUPA", 4918),
    ("LUPA", 1443), ("STRN", 3506), ("RELB", 5135), ("LELB", 1666), ("RFRM", 5037), ("LFRM", 1568), ("RFWT", 4343),
    ("LFWT", 857), ("RIWR", 5573), ("LIWR", 2112), ("RTHMB", 5686), ("LTHMB", 2224), ("RFIN", 5635), ("LFIN", 2174),
    ("RTHI", 4927), ("LTHI", 1454), ("RKNE", 4538), ("LKNE", 1053), ("RSHN", 4568), ("LSHN", 1082), ("RANK", 6728),
    ("LANK", 3327), ("RMT1", 6736), ("LMT1", 3336), ("RMT5", 6747), ("LMT5", 3346), ("RRSTBEEF", 6682), ("LRSTBEEF",
    3314), ("RTOE", 6633), ("LTOE", 3233), ("LHEE", 3387), ("RHEE", 6786), ("LBWT", 3122), ("RBWT", 6544), ("T10",
    3016), ("C7", 3470), ("LBHD", 182), ("RBHD", 3694), ("RBAK", 5273), ("LOWR", 2108), ("ROWR", 5568)
)
# Leaves after the 24 joints: head top, left/right middle fingertip, left/right big toe (SMPL vertex ids).
LEAF_VERTICES = (411, 2445, 5905, 3216, 6617)
LEAF_PARENTS = {15: 24, 22: 25, 23: 26, 10: 27, 11: 28}
JOINT_FLIP_PAIRS = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23), (25, 26),
                    (27, 28))
MARKER_FLIP_PAIRS = ((0, 64), (1, 2), (3, 6), (4, 5), (7, 8), (9, 10), (11, 12), (13, 14), (16, 17), (18, 19),
                     (20, 21), (22, 24), (25, 26), (28, 29), (30, 31), (32, 33), (34, 35), (36, 37), (38, 39),
                     (40, 41), (42, 43), (44, 45), (46, 47), (48, 49), (50, 51), (52, 53), (54, 55), (56, 57),
                     (58, 59), (62, 63), (65, 66))
KEYPOINTS = 29 + len(MARKERS)


def flip_permutation() -> list[int]:
    """Index map of the 96 keypoints under a left-right mirror."""
    order = list(range(KEYPOINTS))
    for a, b in JOINT_FLIP_PAIRS:
        order[a], order[b] = b, a
    for a, b in MARKER_FLIP_PAIRS:
        order[29 + a], order[29 + b] = 29 + b, 29 + a
    return order
