"""Corpora: texts (``text.py``) and images (``images.py``: a user's folders through
``image_files.py``, the built-in sets in ``image_sets.py``). The modality seam picks which.
"""
