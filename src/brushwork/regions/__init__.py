"""Where to paint: masks read from files or found automatically (the subject, faces), feathered, and
turned into the regions the engines paint, each after its own styles.

- :mod:`~brushwork.regions.resolve`: ``region_mask(spec, rgb, ...)``, the mask that --mask names;
- :mod:`~brushwork.regions.masks`: mask files (read, fit to the picture, invert, feather, coverage);
- :mod:`~brushwork.regions.subject`: the photo's main subject (GrabCut, no model);
- :mod:`~brushwork.regions.faces`: faces (OpenCV's Haar cascade) and soft masks over them;
- :mod:`~brushwork.regions.plan`: the regions and weights the engines paint.
"""
