"""The optimizer engine: losses on VGG19 features, L-BFGS/Adam stages over an image pyramid, exact
whole-image tiling for large scales, and the memory plan that decides when to tile."""
