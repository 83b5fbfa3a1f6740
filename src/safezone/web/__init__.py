"""The web shell: app factory, shared dependencies, middleware, templates, translations."""
