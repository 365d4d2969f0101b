"""The annotated video, written as H.264 in MP4 with PyAV: what every browser's ``<video>`` plays.

OpenCV's wheels write MPEG-4 Part 2 (``mp4v``) into MP4, which browsers do not play; PyAV's wheels
bring FFmpeg with libx264. Frames are YUV 4:2:0 (the profile browsers decode), so a frame of odd
width or height gets one repeated column or row; the index is written first (``+faststart``), so a
page plays the video while it loads.
"""

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from keypoints.errors import VideoError

CODEC = "libx264"
"""FFmpeg's H.264 encoder, in PyAV's wheels."""

PIXEL_FORMAT = "yuv420p"
"""The pixel format browsers decode."""

ENCODER_OPTIONS = {"crf": "23", "preset": "veryfast"}
"""x264's default quality (CRF 23) at a fast preset: the annotated video is for looking at, not archiving."""


class H264Writer:
    """Write BGR frames of one size to an MP4 file as H.264.

    Parameters
    ----------
    path : str or Path
    fps : float
    size : tuple of int
        ``(width, height)`` of the frames given to :meth:`write`.

    Raises
    ------
    VideoError
        The file cannot be created, or FFmpeg has no encoder for it (the message names it and says what to check).
    """

    def __init__(self, path, fps, size):
        import av

        self.path, self.size = Path(path), tuple(int(v) for v in size)
        width, height = self.size
        self.padded = (width + width % 2, height + height % 2)
        self.container = None
        if not self.path.parent.is_dir() or not os.access(self.path.parent, os.W_OK):
            raise VideoError(
                f"{self.path}: cannot write a video there (no such folder, or not writable); is "
                f"{self.path.parent} writable?"
            )
        try:  # FFmpeg opens the file at the first packet: a folder that cannot take it fails there too
            self.container = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
        except (OSError, av.FFmpegError) as error:
            raise self._failed(error) from None
        try:  # an FFmpeg without the encoder, or one that refuses the rate, says so with a ValueError
            rate = Fraction(fps).limit_denominator(1001)
            self.stream = self.container.add_stream(CODEC, rate=rate, options=ENCODER_OPTIONS)
            self.stream.width, self.stream.height = self.padded
            self.stream.pix_fmt = PIXEL_FORMAT
        except (OSError, ValueError, ZeroDivisionError, av.FFmpegError) as error:
            self.container.close()
            self.container = None
            self.path.unlink(missing_ok=True)
            raise VideoError(
                f"{self.path}: FFmpeg cannot encode {CODEC} at {width}x{height}, {fps} frames/s here "
                f"({type(error).__name__}: {error})"
            ) from None
        self.frames = 0

    def write(self, frame):
        """Encode one frame: ndarray of uint8, shape (height, width, 3), BGR."""
        import av

        width, height = self.size
        if frame.shape[:2] != (height, width):
            raise VideoError(f"{self.path}: a frame of {frame.shape[1]}x{frame.shape[0]}, not {width}x{height}")
        if self.padded != self.size:  # 4:2:0 needs even sides: repeat the last column or row
            frame = np.pad(frame, ((0, self.padded[1] - height), (0, self.padded[0] - width), (0, 0)), mode="edge")
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        try:
            for packet in self.stream.encode(picture):
                self.container.mux(packet)
        except (OSError, av.FFmpegError) as error:
            raise self._failed(error) from None
        self.frames += 1

    def _failed(self, error):
        return VideoError(f"{self.path}: cannot write a video there ({error}); is {self.path.parent} writable?")

    def close(self):
        """Flush the encoder and close the file (a video of no frame is closed too, and empty)."""
        import av

        if self.container is None:
            return
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self.container.close()
        except (OSError, av.FFmpegError) as error:
            raise self._failed(error) from None
        finally:
            self.container = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
