"""The selfie score and its conversion-free parts: evidence, camera distance, the gate before the extra
models, the eye crops, the mask's edges, the cache round trip and the owner's image-only selfies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from galprof import facts
from galprof.analysis.owner import find_owner
from galprof.analysis.selfie import (
    IRIS_MM,
    SELFIE_THRESHOLD,
    camera_distance_m,
    exif_evidence,
    photo_selfie,
    score_selfie,
)
from galprof.store import decode_media, encode_media
from galprof.vision.iris import CROP_PER_EYE_WIDTH, EYE_WIDTH_PER_IOD, SIZE, eye_matrices, iris_diameter
from galprof.vision.segmentation import mask_edges
from galprof.vision.selfie_cues import largest_plausible

FRONT = facts.ExifFacts(lens_model="iPhone 12 front camera 2.71mm f/2.2", focal_length=2.71, focal_length_35mm=30.0)
BACK = facts.ExifFacts(lens_model="iPhone 12 back camera 4.2mm f/1.6", focal_length=4.2, focal_length_35mm=26.0)


def _face(box, yaw: float = 0.0) -> facts.Face:
    """A face with keypoints placed in its box: eyes at 30 % / 70 % of the width, the nose between
    them shifted by yaw x the eye distance."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    right_eye, left_eye = (x1 + 0.3 * w, y1 + 0.4 * h), (x1 + 0.7 * w, y1 + 0.4 * h)
    nose = (x1 + 0.5 * w + yaw * 0.4 * w, y1 + 0.6 * h)
    keypoints = np.array([right_eye, left_eye, nose, (x1 + 0.5 * w, y1 + 0.8 * h),
                          (x1, y1 + 0.45 * h), (x2, y1 + 0.45 * h)], np.float32)
    return facts.Face(box=facts.Box(*box), score=0.9, keypoints=keypoints, embedding=np.zeros(128, np.float32))


def _cues(iris_px: float, bottom: float = 0.8, side: float = 0.5, face: int = 0) -> facts.SelfieCues:
    return facts.SelfieCues(face=face, iris_px=iris_px, eye_distance_px=iris_px * 5.4, person_area=0.4,
                            person_bottom=bottom, person_side=side)


def _frame(faces, cues=None, width=768, height=1024) -> facts.FrameFacts:
    return facts.FrameFacts(width=width, height=height, faces=faces, selfie=cues)


SELFIE_BOX = (234, 300, 534, 650)  # 300 px wide face in the middle of a 768 x 1024 photo
FAR_BOX = (40, 60, 100, 130)  # 60 px, in a corner


def test_exif_evidence_names_the_lens_else_the_gallery_focal_rule():
    assert exif_evidence(FRONT) == "front_lens"
    assert exif_evidence(BACK) == "back_lens"
    assert exif_evidence(facts.ExifFacts(focal_length=2.7), "focal") == "shortest_focal"
    assert exif_evidence(facts.ExifFacts(focal_length=2.7)) is None
    assert exif_evidence(None) is None


def test_camera_distance_from_the_iris_and_the_focal_length():
    # 26 mm equivalent on a 768 x 1024 frame: focal = 26 / 43.27 x 1280 px = 769 px
    distance, source = camera_distance_m(_cues(iris_px=22.5), 768, 1024, None)
    focal_px = 26.0 / 43.27 * math.hypot(768, 1024)
    assert source == "assumed" and distance == pytest.approx(focal_px * IRIS_MM / 1000 / 22.5)
    assert 0.35 < distance < 0.45  # arm's length
    longer, source = camera_distance_m(_cues(iris_px=22.5), 768, 1024, facts.ExifFacts(focal_length_35mm=52.0))
    assert source == "exif" and longer == pytest.approx(2 * distance)  # twice the focal, twice as far
    assert camera_distance_m(_cues(iris_px=0.0), 768, 1024, None)[0] is None


def test_an_arms_length_face_scores_as_a_selfie_and_a_far_one_does_not():
    selfie = score_selfie(_frame([_face(SELFIE_BOX)], _cues(22.5)), None)
    assert selfie.is_selfie and selfie.score > 0.9
    assert selfie.evidence.face_size == pytest.approx(300 / 768, abs=1e-3)
    assert selfie.evidence.distance_m == pytest.approx(0.40, abs=0.02)
    far = score_selfie(_frame([_face(FAR_BOX)]), None)
    assert not far.is_selfie and far.score < 0.05 and far.evidence.distance_m is None
    empty = score_selfie(_frame([]), None)
    assert empty.evidence.faces == 0 and empty.score < 0.01


def test_each_piece_of_evidence_moves_the_score_its_way():
    def score(faces=None, cues="default", exif=None, rule=None):
        frame = _frame(faces or [_face(SELFIE_BOX)], _cues(22.5) if cues == "default" else cues)
        return score_selfie(frame, exif, rule).score

    base = score()
    assert score(cues=_cues(80.0)) > score(cues=_cues(5.0))  # near beats 2 m away
    assert score(cues=_cues(5.0)) < SELFIE_THRESHOLD  # a big face photographed from afar (telephoto)
    assert score(faces=[_face(SELFIE_BOX, yaw=0.6)]) < base  # turned away
    assert score(cues=_cues(22.5, bottom=0.0, side=0.0)) < base  # the person is not cut by the frame
    assert score(faces=[_face((0, 0, 300, 350))]) < base  # in a corner
    crowd = [_face(SELFIE_BOX)] + [_face((x, 800, x + 60, 870)) for x in (0, 100, 200, 300)]
    assert score(faces=crowd) < base
    weak = _cues(7.5)  # ~1.2 m: doubtful from the image alone
    assert score(cues=weak, exif=FRONT) > SELFIE_THRESHOLD > score(cues=weak)
    assert score(cues=weak, exif=BACK) < score(cues=weak) < score(cues=weak, rule="focal")
    assert score_selfie(_frame([]), FRONT).score > score_selfie(_frame([]), None).score


def test_cues_of_another_face_are_not_used():
    frame = _frame([_face(SELFIE_BOX), _face(FAR_BOX)], _cues(22.5, face=1))
    assert score_selfie(frame, None).evidence.distance_m is None


def test_videos_get_no_selfie_flag_and_photos_use_the_gallery_rule():
    video = facts.MediaFacts("/g/v.mp4", "video", "mp4", 1, 0.0, frames=[_frame([_face(SELFIE_BOX)])])
    assert photo_selfie(video, {}) is None
    photo = facts.MediaFacts("/g/p.jpg", "photo", "jpeg", 1, 0.0, exif=facts.ExifFacts(focal_length=2.7))
    assert photo_selfie(photo, {"/g/p.jpg": "focal"}).evidence.exif == "shortest_focal"
    assert photo_selfie(photo, {}).evidence.faces == 0  # a photo without frames still gets an answer


def test_the_extra_models_run_only_for_a_plausible_largest_face():
    assert largest_plausible([_face(FAR_BOX), _face(SELFIE_BOX)], 768, 1024) == 1
    assert largest_plausible([_face(FAR_BOX)], 768, 1024) is None
    assert largest_plausible([], 768, 1024) is None


def test_eye_crops_are_centred_on_each_eye_and_level():
    keypoints = np.array([[300.0, 400.0], [200.0, 400.0], [250, 450], [250, 480], [180, 410], [320, 410]])
    matrices, side = eye_matrices(keypoints)
    assert side == pytest.approx(CROP_PER_EYE_WIDTH * EYE_WIDTH_PER_IOD * 100)
    for matrix, eye in zip(matrices, ([200.0, 400.0], [300.0, 400.0]), strict=True):  # image-left first
        assert matrix @ np.array([*eye, 1.0]) == pytest.approx([SIZE / 2, SIZE / 2])
    tilted = keypoints.copy()
    tilted[0] = [200 + 100 * math.cos(0.3), 400 + 100 * math.sin(0.3)]
    tilted[1] = [200.0, 400.0]
    (left, _), _ = eye_matrices(tilted)
    a = left @ np.array([*tilted[0], 1.0]) - left @ np.array([200.0, 400.0, 1.0])
    assert a[1] == pytest.approx(0.0, abs=1e-9)  # the eye line is horizontal in the crop


def test_iris_diameter_is_the_mean_of_the_two_opposite_point_distances():
    points = np.array([[32, 32, 0], [22, 32, 0], [32, 24, 0], [42, 32, 0], [32, 40, 0]], np.float32)
    assert iris_diameter(points.reshape(-1)) == pytest.approx((20 + 16) / 2)


def test_mask_edges_measure_where_the_person_touches_the_frame():
    mask = np.zeros((100, 100), np.float32)
    mask[40:, 30:70] = 0.9  # a torso rising from the bottom edge
    edges = mask_edges(mask)
    assert edges.area == pytest.approx(0.24) and edges.bottom == pytest.approx(0.4) and edges.side == 0.0
    mask[70:, 0:30] = 0.9  # an arm reaching out of the left edge, low in the frame
    assert mask_edges(mask).side == pytest.approx(0.6)


def test_selfie_cues_survive_the_cache():
    media = facts.MediaFacts("/g/p.jpg", "photo", "jpeg", 1, 0.0, frames=[_frame([_face(SELFIE_BOX)], _cues(22.5))])
    assert decode_media(encode_media(media)).frames[0].selfie == media.frames[0].selfie
    media.frames[0].selfie = None
    assert decode_media(encode_media(media)).frames[0].selfie is None


def _owner_items(exif: facts.ExifFacts) -> list[facts.MediaFacts]:
    return [facts.MediaFacts(f"/g/{i}.jpg", "photo", "jpeg", 1, 0.0, exif=exif,
                             frames=[_frame([_face(SELFIE_BOX)], _cues(22.5))]) for i in range(3)]


def test_owner_uses_the_selfie_flag_only_without_lens_or_focal_exif():
    from types import SimpleNamespace

    from galprof.analysis.people import Person

    demography = SimpleNamespace(age=30.0, age_source="face_estimate", birth_year=None, gender="female",
                                 gender_confidence=0.8)
    person = Person(id=7, faces=[], centroid=np.zeros(128), demography=demography, representative=None)
    keys = {(f"/g/{i}.jpg", 0, 0): 7 for i in range(3)}
    stripped = find_owner(_owner_items(facts.ExifFacts()), [person], keys)
    assert [s.rule for s in stripped.selfies] == ["image"] * 3
    assert stripped.scores == {7: 1.5}  # image-only selfies count half
    assert stripped.status == "found" and stripped.person_id == 7
    unmeasured = _owner_items(facts.ExifFacts())
    for m in unmeasured:
        m.frames[0].selfie = None  # no iris distance: face size alone does not make an owner's selfie
    assert find_owner(unmeasured, [person], keys).selfies == []
    with_focal = find_owner(_owner_items(facts.ExifFacts(make="A", model="B", focal_length=4.2)), [person], keys)
    assert with_focal.selfies == [] and with_focal.status == "not_enough_selfies"


def test_the_owner_facts_keep_what_the_selfie_score_reads():
    """The profile gathers the owner's facts in its people pass instead of keeping the files: the image-only
    selfies it finds are the ones the selfie score finds on the whole files."""
    from galprof.analysis.owner import OwnerFacts

    items = _owner_items(facts.ExifFacts())
    items[0].frames[0].faces.append(_face(FAR_BOX))
    items[1].frames[0].selfie = None  # no iris distance: not an image-only selfie
    expected = [m.path for m in items if score_selfie(m.frames[0], m.exif).is_selfie and m.frames[0].selfie]
    selfies = OwnerFacts.of(items).selfies({})
    assert [s.path for s in selfies] == expected and len(expected) == 2 and {s.rule for s in selfies} == {"image"}
