"""augur.batch (being built)."""
