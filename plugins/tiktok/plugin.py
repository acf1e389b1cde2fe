"""TikTok's hook implementations (placeholder until the TikTok platform lands)."""
