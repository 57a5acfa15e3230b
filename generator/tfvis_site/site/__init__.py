"""The written site: the data contract (``bundles.py``), a model's data files and manifest
(``model_data.py``), where things live in a site (``layout.py``), the pages (``pages/``,
``render.py``) and a local server (``serve.py``).
"""
