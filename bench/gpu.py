"""bench/scale.py's table for a GPU build: time, peak RSS and tokens/s per stage and path, with
``--device cuda`` (extraction and LIME under bf16 autocast, SAE training, encoding on the GPU).

    python bench/gpu.py [--n-sentences N] [--max-tokens 64] [--preset default] [--store-dtype float16] ...

Same options and same table as bench/scale.py (it runs that script's code); stops with a
one-line message on a machine without CUDA.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import scale  # noqa: E402


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        print("bench/gpu.py: no CUDA device here (torch.cuda.is_available() is False): run it on a GPU machine, or bench/scale.py on CPU", file=sys.stderr)
        return 2
    scale.main(sys.argv[1:], device="cuda", title=f"tfvis-site build on {torch.cuda.get_device_name(0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
