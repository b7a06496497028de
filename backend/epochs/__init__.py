"""The epoch runner: snapshot -> rewards engine -> store -> post root -> finalized; reward parameter sets."""
