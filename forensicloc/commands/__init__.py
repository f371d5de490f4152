"""Core's built-in CLI commands, one module each (added via ``register_commands``)."""
