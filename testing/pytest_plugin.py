"""crosspost's pytest plugin (fixtures arrive with the plugin kit)."""
