"""Seeing inside a trained network: saliency, occlusion and first-layer filters, as figures.

Public API::

    from keypoints.explain import saliency, occlusion_map, first_layer_filters

    grads = saliency(module, face)            # (30, 96, 96): d keypoint / d pixel
    growth = occlusion_map(module, face)      # OcclusionMap: error growth per patch position
    filters = first_layer_filters(module)     # FirstLayerFilters: conv filters, or local ones by position

``keypoints explain --model FILE IMAGE...`` writes the figures
(:func:`keypoints.explain.images.explain_images`); ``keypoints train`` adds one
saliency and one occlusion figure per network to its report
(:func:`keypoints.explain.training_figures.write_training_explanations`).
"""

from keypoints.explain.filters import FirstLayerFilters, first_layer_filters
from keypoints.explain.occlusion import OcclusionMap, occlusion_map
from keypoints.explain.saliency import keypoint_saliency, saliency

__all__ = [
    "FirstLayerFilters",
    "OcclusionMap",
    "first_layer_filters",
    "keypoint_saliency",
    "occlusion_map",
    "saliency",
]
