"""Models: every form of ``--model`` resolved to a Hugging Face checkpoint folder
(``registry.py``; the built-ins' conversions in ``gguf.py`` and ``dinov2.py``) and loaded with its
tokenizer or image processor (``load.py``).
"""
