"""The fast engine: a PyTorch port of Magenta's arbitrary-style network, run at full resolution."""
