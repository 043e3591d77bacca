"""The outline stage: anatomical points found on the person's outline (see ARCHITECTURE.md)."""
