"""Renderers (Rich text, Markdown, JSON). They return or write text; they never decide anything."""
