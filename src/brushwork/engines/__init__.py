"""The two engines behind :func:`brushwork.stylize`: ``optimize`` (Gatys et al.: an image optimised against
VGG19 features, the quality engine) and ``feedforward`` (Magenta's arbitrary-style network: one pass)."""
