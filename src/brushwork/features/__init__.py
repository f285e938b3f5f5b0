"""VGG19 feature extraction: where the weights come from and the network that uses them."""

from brushwork.features.vgg import LAYER_NAMES, VGG19Features, from_caffe, to_caffe
from brushwork.features.weights import WeightsSource, find_weights, load_weights

__all__ = [
    "LAYER_NAMES",
    "VGG19Features",
    "WeightsSource",
    "find_weights",
    "from_caffe",
    "load_weights",
    "to_caffe",
]
