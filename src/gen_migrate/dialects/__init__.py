"""One package per downstream store. A dialect knows the generic model and its own store only."""
