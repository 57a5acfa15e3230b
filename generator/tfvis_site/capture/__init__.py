"""Forward passes into activations: what every attention layer computes (``qkv.py``), batched
extraction into the sharded activation store (``extract.py`` writes it, ``store.py`` reads it),
image patches as units (``patches.py``), and extraction shards on workers (``sharded.py``).
"""
