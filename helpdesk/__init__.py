"""Polyglot Desk: a multilingual support desk for Django."""
