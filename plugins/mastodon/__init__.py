"""Mastodon: text-first posts to any Mastodon-compatible server, with limits read from each server."""
