"""The build: what runs, in what order, with what settings.

``stages.py`` is the list of a model's stages, ``runner.py`` the one place that runs them (cache,
progress line, timing), ``build.py`` runs every model of a site and writes it, ``config.py``
reads the options, ``budget.py`` and ``memory.py`` size the work to the model and the machine.
docs/architecture.md draws the whole house.
"""
