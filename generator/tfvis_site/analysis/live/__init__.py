"""The live probe: the site's text model in ONNX, its tokenizer and its dictionary encoder, so a
reader's browser can run any typed text through them (docs/live-probe.md).

stage.py: the export and the choice of weights (the cached stages' work); export.py: the ONNX graph;
runtime.py: the browser's computation in Python (onnxruntime session, encoder);
compress.py: int8 / fp16 weights; encoder.py: the encoder file and its numpy twin;
bundle.py: the site's files and manifest section; reference.py: the browser's computation in Python.
"""

from .bundle import write_live_bundle
from .stage import MODES, LiveExport

__all__ = ["MODES", "LiveExport", "write_live_bundle"]
