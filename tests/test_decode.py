"""Photo decoding: EXIF orientation, JPEG draft scaling, colour modes, HEIC, bombs and broken files."""

from __future__ import annotations

import io

import numpy as np
import piexif
import pytest
from PIL import Image

from galprof.media.decode import DecodeError, decode_image, target_size
from tests.media_factory import gradient, huge_png_header, image_bytes


def _quadrant_colours(rgb: np.ndarray) -> list[tuple[int, ...]]:
    """Mean colour (rounded to 0/255) of the four quadrants: TL, TR, BL, BR."""
    h, w = rgb.shape[:2]
    quads = [rgb[: h // 2, : w // 2], rgb[: h // 2, w // 2:], rgb[h // 2:, : w // 2], rgb[h // 2:, w // 2:]]
    return [tuple(round(c / 255.0) * 255 for c in q.reshape(-1, 3).mean(axis=0)) for q in quads]


@pytest.mark.parametrize("kind", ["landscape", "portrait"])
def test_every_exif_orientation_is_made_upright(shared_data, kind):
    folder = shared_data / "exif-samples" / "jpg" / "orientation"
    reference = decode_image(str(folder / f"{kind}_1.jpg"))
    assert (reference.width > reference.height) == (kind == "landscape")
    ref = Image.fromarray(reference.rgb)
    # the other ways the image could have come out with the same shape
    wrong = [np.asarray(ref.transpose(t)).astype(int) for t in (
        Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_180, Image.Transpose.FLIP_TOP_BOTTOM)]
    for orientation in range(2, 9):
        decoded = decode_image(str(folder / f"{kind}_{orientation}.jpg"))
        assert decoded.orientation == orientation
        assert decoded.rgb.shape == reference.rgb.shape, orientation
        diff = np.abs(decoded.rgb.astype(int) - reference.rgb.astype(int)).mean()
        # the samples were re-encoded separately (diff ~14); a wrong transform differs by > 50
        assert diff < 25, f"{kind}_{orientation}: mean abs diff {diff:.1f} against {kind}_1"
        assert all(diff < 0.5 * np.abs(decoded.rgb.astype(int) - w).mean() for w in wrong)


def test_generated_orientations(tmp_path):
    rgb = gradient(80, 40)
    expected = _quadrant_colours(rgb)
    inverse = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
               7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
    for orientation, stored_as in inverse.items():
        stored = Image.fromarray(rgb).transpose(stored_as)
        buffer = io.BytesIO()
        stored.save(buffer, "JPEG", quality=95, exif=piexif.dump({"0th": {piexif.ImageIFD.Orientation: orientation}}))
        path = str(tmp_path / f"orient-{orientation}.jpg")
        with open(path, "wb") as f:
            f.write(buffer.getvalue())
        decoded = decode_image(path)
        assert decoded.rgb.shape == (40, 80, 3), orientation
        assert decoded.original_width == 80 and decoded.original_height == 40
        assert _quadrant_colours(decoded.rgb) == expected, orientation


def test_phone_photos_use_draft_scaling(shared_data):
    # 12 MP (4032 x 3024) decodes at 1/4 (1008 px, >= 90 % of max_side) and is enlarged to 1024;
    # 8 MP (3264 x 2448) would give 816 px at 1/4, too small for the face tiles, so it stays at 1/2
    for name, scale in [("Oppo R7 Plus.jpg", 0.25), ("Apple iPhone 6.jpg", 0.5),
                        ("Samsung SM-N900A (Galaxy Note 3).jpg", 0.25), ("Issue 525.jpg", 0.25),
                        ("Samsung SM-G935L (Galaxy S7 Edge).jpg", 0.25)]:
        decoded = decode_image(str(shared_data / "phones" / name), max_side=1024)
        assert decoded.draft_scale == pytest.approx(scale, abs=0.01), name
        assert max(decoded.width, decoded.height) == 1024
    rotated = decode_image(str(shared_data / "phones" / "Samsung GT-I9100 (Galaxy SII).jpg"))
    assert rotated.orientation == 6
    assert (rotated.width, rotated.height) == (768, 1024)  # stored landscape, shown portrait
    assert (rotated.original_width, rotated.original_height) == (2448, 3264)


@pytest.mark.parametrize(("size", "scale"), [((4000, 3000), 0.25), ((3264, 2448), 0.5), ((3648, 2736), 0.5),
                                             ((8000, 6000), 0.125), ((1200, 900), 1.0)])
def test_draft_goes_down_to_90_percent_and_the_frame_keeps_its_size(tmp_path, size, scale):
    """The coarsest DCT scale whose result is >= 90 % of max_side, then exactly the frame size of a
    full decode: the models (the face tiles above all) see the same geometry as before."""
    width, height = size
    path = str(tmp_path / "big.jpg")
    Image.fromarray(gradient(64, 48)).resize(size, Image.Resampling.NEAREST).save(path, quality=80)
    decoded = decode_image(path, max_side=1024)
    assert decoded.draft_scale == scale
    assert (decoded.width, decoded.height) == target_size(width, height, 1024)
    assert _quadrant_colours(decoded.rgb) == _quadrant_colours(gradient(64, 48))


def test_target_size():
    assert target_size(4000, 3000, 1024) == (1024, 768)
    assert target_size(3000, 4000, 1024) == (768, 1024)
    assert target_size(800, 600, 1024) == (800, 600)


def test_small_max_side_still_exact(tmp_path):
    path = str(tmp_path / "big.jpg")
    Image.fromarray(np.tile(gradient(400, 300), (4, 4, 1))).save(path, quality=90)  # 1600 x 1200
    decoded = decode_image(path, max_side=200)
    assert decoded.rgb.shape == (150, 200, 3)
    assert decoded.draft_scale == 0.125


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1", "RGBA", "LA", "I;16", "I", "F"])
def test_colour_modes_become_rgb(tmp_path, mode):
    rgb = gradient()
    im = Image.fromarray(rgb).convert(mode if mode not in ("I;16", "I", "F") else "L")
    if mode == "I;16":
        im = Image.fromarray(np.asarray(im).astype(np.uint16) * 257)  # full 16-bit range
    elif mode in ("I", "F"):
        im = im.convert(mode)
    fmt = {"CMYK": "JPEG", "F": "TIFF", "I": "TIFF"}.get(mode, "PNG")
    path = tmp_path / f"x.{fmt.lower()}"
    im.save(path, fmt)
    decoded = decode_image(str(path))
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.shape == (48, 64, 3)
    if mode in ("L", "I;16", "I", "F", "P", "RGBA", "CMYK"):
        # bright quadrant stays bright (16-bit scaled, not clipped), dark stays darker
        assert decoded.rgb[40, 60].mean() > 200
        assert decoded.rgb[5, 5].mean() < decoded.rgb[40, 60].mean()


def test_alpha_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:5, :, 3] = 0  # top half fully transparent
    rgba[5:, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    decoded = decode_image(str(tmp_path / "a.png"))
    assert decoded.rgb[2, 2].tolist() == [255, 255, 255]
    assert decoded.rgb[8, 8].tolist() == [255, 0, 0]


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=100)
    decoded = decode_image(str(tmp_path / "a.gif"))
    assert decoded.rgb[10, 10].tolist() == [255, 0, 0]


def test_heic(shared_data):
    decoded = decode_image(str(shared_data / "exif-samples" / "heic" / "mobile" / "iphone_13_pro_max.HEIC"))
    assert decoded.format == "heif"
    # stored 4032 x 3024 with rotation: shown portrait
    assert (decoded.original_width, decoded.original_height) == (3024, 4032)
    assert decoded.rgb.shape == (1024, 768, 3)
    small = decode_image(str(shared_data / "exif-samples" / "heic" / "samplefilehub.heif"))
    assert small.rgb.shape == (426, 640, 3)


def test_decompression_bomb_is_a_reported_error(tmp_path):
    (tmp_path / "bomb.png").write_bytes(huge_png_header())
    with pytest.raises(DecodeError, match="decompression-bomb"):
        decode_image(str(tmp_path / "bomb.png"))


def test_broken_files(tmp_path):
    data = image_bytes("JPEG", np.tile(gradient(), (8, 8, 1)), quality=90)
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.jpg").write_bytes(bytes((i * 91 + 7) % 256 for i in range(4096)))
    for name, pattern in [("truncated.jpg", "truncated"), ("random.jpg", "not a readable image")]:
        with pytest.raises(DecodeError, match=pattern):
            decode_image(str(tmp_path / name))
    with pytest.raises(DecodeError, match="vanished"):
        decode_image(str(tmp_path / "gone.jpg"))
    (tmp_path / "dir.jpg").mkdir()
    with pytest.raises(DecodeError):
        decode_image(str(tmp_path / "dir.jpg"))


def test_corrupt_exif_does_not_stop_decoding(shared_data):
    for path in sorted((shared_data / "exif-samples" / "jpg" / "invalid").glob("*.jpg")) + \
            sorted((shared_data / "exif-samples" / "jpg" / "tests").glob("*.jp*g")):
        decoded = decode_image(str(path), max_side=256)
        assert decoded.rgb.ndim == 3 and max(decoded.rgb.shape[:2]) <= 256


def test_over_budget_photo_is_refused_before_decoding(tmp_path):
    """9400 x 9400 is under Pillow's bomb limit but over the 200 MB budget: refused from its header."""
    (tmp_path / "big.png").write_bytes(huge_png_header(9400, 9400))
    with pytest.raises(DecodeError, match=r"too large to decode within the memory budget \(9400 x 9400"):
        decode_image(str(tmp_path / "big.png"))


@pytest.mark.parametrize(("mode", "budget_ok"), [("RGB", 4 * 600 * 400), ("RGBA", 8 * 600 * 400),
                                                 ("L", 600 * 400), ("P", 9 * 600 * 400)])
def test_memory_budget_counts_the_peak_per_mode(tmp_path, mode, budget_ok):
    path = tmp_path / "a.png"
    Image.fromarray(gradient(600, 400)).convert(mode).save(path)
    assert decode_image(str(path), max_side=100, memory_budget=budget_ok).rgb.shape == (67, 100, 3)
    with pytest.raises(DecodeError, match="memory budget"):
        decode_image(str(path), max_side=100, memory_budget=budget_ok - 1)


def test_drafted_jpeg_is_budgeted_at_its_decoded_size(tmp_path):
    path = str(tmp_path / "big.jpg")
    Image.fromarray(gradient(64, 48)).resize((4000, 3000), Image.Resampling.NEAREST).save(path, quality=80)
    decoded = decode_image(path, max_side=512, memory_budget=4 * 500 * 375)  # decoded at 1/8
    assert decoded.draft_scale == 0.125
    with pytest.raises(DecodeError, match="memory budget"):
        decode_image(path, max_side=2048, memory_budget=4 * 500 * 375)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "1", "I;16"])
def test_large_images_reduced_before_conversion_keep_their_content(tmp_path, mode):
    big = Image.fromarray(gradient(64, 48)).resize((2400, 1800), Image.Resampling.NEAREST).convert(
        mode if mode != "I;16" else "L")
    if mode == "I;16":
        big = Image.fromarray(np.asarray(big).astype(np.uint16) * 257)
    big.save(tmp_path / "big.png")
    decoded = decode_image(str(tmp_path / "big.png"), max_side=200)
    assert decoded.rgb.shape == (150, 200, 3)
    small = decode_image(str(tmp_path / "big.png"), max_side=2400)  # no reduction
    reference = np.asarray(Image.fromarray(small.rgb).resize((200, 150), Image.Resampling.BOX)).astype(int)
    assert np.abs(decoded.rgb.astype(int) - reference).mean() < 3, mode
