"""``python -m keypoints <command>``."""

from keypoints.cli import main

raise SystemExit(main())
