"""Training, export and quantisation of hark models (needs the [train] extra)."""
