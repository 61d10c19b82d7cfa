"""fivestar package."""
