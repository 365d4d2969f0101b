"""The networks: layer geometry, the locally-connected layer, and the networks built from specs.

Public API::

    from keypoints.networks import NETWORKS, build_network, network_summary, format_summary

    net = build_network("bnconv")      # nn.Sequential: (B, 1, 96, 96) -> (B, 30)
    print(format_summary("local"))     # what `keypoints summary local` prints
"""

from keypoints.networks.build import Network, Summary, SummaryRow
from keypoints.networks.geometry import (
    batchnorm_params,
    conv_params,
    dense_params,
    local_params,
    output_size,
    pool_output_size,
)
from keypoints.networks.layers import (
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalPool,
    LayerSpec,
    Local,
    Pool,
    ReLU,
)
from keypoints.networks.local import LocallyConnected2d, broadcast_locally_connected
from keypoints.networks.specs import (
    N_OUTPUTS,
    NETWORKS,
    TWINS,
    build_network,
    format_summary,
    get_network,
    network_summary,
)

__all__ = [
    "NETWORKS",
    "N_OUTPUTS",
    "TWINS",
    "BatchNorm",
    "Conv",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalPool",
    "LayerSpec",
    "Local",
    "LocallyConnected2d",
    "Network",
    "Pool",
    "ReLU",
    "Summary",
    "SummaryRow",
    "batchnorm_params",
    "broadcast_locally_connected",
    "build_network",
    "conv_params",
    "dense_params",
    "format_summary",
    "get_network",
    "local_params",
    "network_summary",
    "output_size",
    "pool_output_size",
]
