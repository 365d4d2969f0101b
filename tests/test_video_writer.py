"""The annotated video is H.264 in MP4 (what browsers play), odd sizes included, and says where it cannot be written."""

import av
import numpy as np
import pytest

from keypoints.errors import VideoError
from keypoints.predict.video.writer import H264Writer


def frames(count, size):
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.float64)[None, :, None]
    return [np.clip(ramp + 4 * i + np.zeros((height, 1, 3)), 0, 255).astype(np.uint8) for i in range(count)]


@pytest.mark.parametrize("size", [(160, 120), (161, 121)])
def test_frames_come_back_from_an_h264_mp4_with_the_same_pixels(tmp_path, size):
    path = tmp_path / "clip.mp4"
    written = frames(12, size)
    with H264Writer(path, 25.0, size) as writer:
        for frame in written:
            writer.write(frame)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (size[0] + size[0] % 2, size[1] + size[1] % 2)
        assert stream.average_rate == 25
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(decoded) == 12
    for original, back in zip(written, decoded):
        difference = np.abs(back[: size[1], : size[0]].astype(int) - original.astype(int))
        assert difference.mean() < 3  # CRF 23 on a smooth ramp


def test_a_frame_of_another_size_and_an_unwritable_place_are_refused(tmp_path):
    with H264Writer(tmp_path / "a.mp4", 30, (64, 48)) as writer:
        with pytest.raises(VideoError, match=r"a.mp4: a frame of 32x48, not 64x48"):
            writer.write(np.zeros((48, 32, 3), np.uint8))
    with pytest.raises(
        VideoError,
        match=r"missing/b.mp4: cannot write a video there \(no such folder, or not writable\); is .*missing writable\?",
    ):
        H264Writer(tmp_path / "missing" / "b.mp4", 30, (64, 48))
