"""The masked losses: what each counts, what it ignores, and what the epoch table records when L1 trains."""

import pytest
import torch

from keypoints.data.synthetic import generate_faces
from keypoints.errors import KeypointsError
from keypoints.networks import build_network
from keypoints.training.estimator import Recipe, make_regressor
from keypoints.training.faces import face_tensors
from keypoints.training.loss import MaskedL1Loss, MaskedMSELoss

Y_TRUE = torch.tensor([[0.5, float("nan"), -0.2], [float("nan"), 0.1, 0.3]])


def test_l1_trains_on_absolute_errors_of_present_keypoints_and_keeps_the_squared_one():
    y_pred = torch.tensor([[0.4, 9.0, -0.2], [7.0, 0.3, 0.0]], requires_grad=True)
    loss = MaskedL1Loss()
    value = loss(y_pred, Y_TRUE)
    assert value.item() == pytest.approx((0.1 + 0 + 0.2 + 0.3) / 4, rel=1e-5)
    assert loss.squared.item() == pytest.approx(MaskedMSELoss()(y_pred, Y_TRUE).item(), rel=1e-6)
    value.backward()
    assert y_pred.grad[0, 1] == 0 and y_pred.grad[1, 0] == 0
    assert y_pred.grad[1, 1] == pytest.approx(0.25) and y_pred.grad[1, 2] == pytest.approx(-0.25)


def test_l1_in_evaluation_mode_gives_the_squared_error():
    y_pred = torch.tensor([[0.4, 9.0, -0.2], [7.0, 0.3, 0.0]])
    assert MaskedL1Loss().eval()(y_pred, Y_TRUE).item() == pytest.approx(MaskedMSELoss()(y_pred, Y_TRUE).item())


def test_a_recipe_with_an_unknown_loss_is_refused():
    with pytest.raises(KeypointsError, match="unknown loss 'huber'; use one of mse, l1"):
        Recipe(epochs=1, loss="huber")


def test_training_with_l1_records_each_batchs_squared_error():
    images, keypoints = generate_faces(8, seed=2)
    faces = face_tensors(images, keypoints)
    torch.manual_seed(0)
    regressor = make_regressor(build_network("conv"), Recipe(epochs=1, loss="l1"), verbose=0).initialize()
    x, y = faces.images, faces.keypoints
    step = regressor.train_step_single((x, y))
    assert isinstance(regressor.criterion_, MaskedL1Loss)
    assert step["loss"].item() == pytest.approx(MaskedMSELoss()(step["y_pred"].detach(), y).item(), rel=1e-5)
