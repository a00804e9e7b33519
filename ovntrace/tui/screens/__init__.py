"""Screens: explain (the main one), paste, help, export."""
