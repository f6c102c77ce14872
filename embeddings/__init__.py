"""Text → vectors, languages and passages. No Django imports: usable from any worker or script."""
