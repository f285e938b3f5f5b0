"""Where to paint: masks read from files or found automatically (the subject, faces), feathered, and
turned into the regions the engines paint, each after its own styles."""
