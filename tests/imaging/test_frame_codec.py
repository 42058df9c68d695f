"""JPEG-LS codestreams of frames: decoded, they are the stored values bit for bit."""

import jpeg_ls
import numpy as np
import pytest

from tests.base import sample
from viewer.imaging.frame_codec import encode_jpeg_ls
from viewer.imaging.frames import Frame, read_frames


def decoded(code: bytes, frame: Frame) -> np.ndarray:
    """What the browser does: decode, then read the bytes as X-Data-Type."""
    pixels, _ = jpeg_ls.decode_buffer(code)
    wire = np.dtype(frame.data_type).newbyteorder("<")
    return np.frombuffer(bytes(pixels), dtype=wire).reshape(frame.values.shape)


def gray(values) -> Frame:
    return Frame(values=np.ascontiguousarray(values), photometric="MONOCHROME2", samples=1)


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # int16
        "MR_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "JPGExtended.dcm",  # uint16 from 12-bit JPEG
        "693_J2KI.dcm",  # int16 from irreversible J2K
        "image_dfl.dcm",  # uint8
        "SC_rgb_rle.dcm",
        "SC_rgb_rle_2frame.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",  # YBR decoded to RGB
        "SC_rgb_dcmtk_+eb+cy+np.dcm",
        "examples_ybr_color.dcm",  # 30 frames
        "examples_palette.dcm",  # palette applied: RGB
    ],
)
def test_it_gives_back_every_stored_value_of_the_samples(name):
    for frame in read_frames(sample(name)):
        code = encode_jpeg_ls(frame)
        assert code is not None and len(code) < len(frame.to_bytes())
        assert decoded(code, frame).tobytes() == frame.to_bytes()


@pytest.mark.parametrize("name", ["rtdose.dcm", "MR_small_bigendian.dcm", "SC_rgb_rle_16bit.dcm"])
def test_it_leaves_32_bit_float_and_16_bit_colour_frames_to_the_raw_path(name):
    frame = next(read_frames(sample(name)))
    assert frame.data_type in {"uint32", "float32", "uint16"}
    assert encode_jpeg_ls(frame) is None


@pytest.mark.parametrize(
    "values",
    [
        [-32768, 32767, 0, -1, -1024, -3024, 3071, 1],  # int16 extremes and negative HU
        [0, 65535, 1, 65534, 32768, 32767, 4095, 0],  # uint16 extremes
        [0, 1, 2, 255, 7, 0, 3, 4],  # uint16 that would fit 8 bits
        [-2000, -2000, -2000, -1000, 0, 40, 60, 1000],  # int16 padding outside the FOV
    ],
)
@pytest.mark.parametrize("dtype", ["int16", "uint16"])
def test_it_keeps_16_bit_extremes_exactly(values, dtype):
    rng = np.random.default_rng(15)
    if dtype == "uint16" and min(values) < 0:
        values = np.array(values) & 0xFFFF
    pattern = np.array(values, dtype=np.int64).astype(dtype)
    frame = gray(np.tile(pattern, (32, 8))[:, rng.permutation(64)])
    code = encode_jpeg_ls(frame)
    assert code is not None
    assert np.array_equal(decoded(code, frame), frame.values)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16"])
def test_it_keeps_a_constant_frame_and_random_noise(dtype):
    info = np.iinfo(dtype)
    noise = np.random.default_rng(7).integers(info.min, info.max, (40, 48), endpoint=True)
    for values in (np.zeros((40, 48)), np.full((40, 48), info.min), noise):
        frame = gray(values.astype(dtype))
        code = encode_jpeg_ls(frame)
        assert code is not None
        assert decoded(code, frame).tobytes() == frame.to_bytes()


def test_it_keeps_8_bit_rgb_interleaved_by_pixel():
    rgb = np.random.default_rng(3).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    rgb[0, 0], rgb[0, 1] = (0, 0, 0), (255, 255, 255)
    frame = Frame(values=rgb, photometric="RGB", samples=3)
    code = encode_jpeg_ls(frame)
    assert code is not None
    pixels, info = jpeg_ls.decode_buffer(code)
    assert info["components"] == 3 and bytes(pixels) == rgb.tobytes()


def test_it_leaves_a_frame_of_a_few_pixels_raw():
    # pyjpegls's output buffer is twice the input: a 3x3 frame's header does not fit.
    assert encode_jpeg_ls(gray(np.arange(9, dtype=np.uint16).reshape(3, 3) * 7000)) is None
    assert encode_jpeg_ls(next(read_frames(sample("SC_rgb_small_odd.dcm")))) is None
