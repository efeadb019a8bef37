"""Click commands, one module per group; each only wires config to library calls."""
