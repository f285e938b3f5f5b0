"""Load integrations/comfyui as ComfyUI does: a package from its folder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PACK = Path(__file__).parent.parent / "integrations" / "comfyui"


def load() -> ModuleType:
    if "brushwork_comfyui" in sys.modules:
        return sys.modules["brushwork_comfyui"]
    spec = importlib.util.spec_from_file_location(
        "brushwork_comfyui", PACK / "__init__.py", submodule_search_locations=[str(PACK)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["brushwork_comfyui"] = module
    spec.loader.exec_module(module)
    return module
