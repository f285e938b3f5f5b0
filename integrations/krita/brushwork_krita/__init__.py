"""brushwork for Krita: a docker that paints the active layer in the style of an artwork, through a
``brushwork serve`` on this machine (Krita's Python has no torch: the painting happens there).

Install: copy ``brushwork_krita.desktop`` and this folder into Krita's ``pykrita`` folder, enable
"Brushwork" under Settings > Configure Krita > Python Plugin Manager and restart Krita. For scripts:
``from brushwork_krita import stylize_layer``.
"""

from krita import DockWidgetFactory, DockWidgetFactoryBase, Krita

from .brushwork_client import BrushworkError, Cancelled
from .layer import stylize_layer

__all__ = ["BrushworkError", "Cancelled", "stylize_layer"]


def _register() -> None:
    from .docker import BrushworkDocker

    Krita.instance().addDockWidgetFactory(
        DockWidgetFactory("brushwork_docker", DockWidgetFactoryBase.DockRight, BrushworkDocker)
    )


_register()
