"""brushwork for ComfyUI: a node that paints an image in the style of another (copy this folder into
ComfyUI's custom_nodes/)."""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
