"""hark's built-in plugins, one folder each. They are registered through the ``hark`` entry-point group exactly
like third-party plugins (see pyproject.toml), so any of them can be disabled or replaced."""
