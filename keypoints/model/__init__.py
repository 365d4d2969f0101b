"""The model file: what it holds, how it is checked, saved, loaded, exported and run.

:mod:`~keypoints.model.checkpoint` (a ``.pt``: the weights, the spec that rebuilds the network, the card; saving and
loading), :mod:`~keypoints.model.checks` (each field checked before anything is built from it),
:mod:`~keypoints.model.inference` (a torch network's keypoints in pixels), :mod:`~keypoints.model.export` (the ONNX
file, checked against torch) and :mod:`~keypoints.model.onnx_model` (that file run by OpenCV's DNN module, without
torch). Training writes model files and the predictor reads them; nothing here imports either.
"""
