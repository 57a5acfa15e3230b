"""Analyses of the activations, one package each: transformer factors (``factors/``), joint
query-key embeddings (``attention/``), concept probes (``concepts/``) and the live probe's export
(``live/``). Each one's ``stage.py`` is what the build's stage list calls; ``results.py`` holds
one model's results together for its data files (``Analyses``).
"""
