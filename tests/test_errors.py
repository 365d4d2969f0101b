"""One exception family: what users see is a KeypointsError; the Ctrl-C signal inside training is not an error."""

import inspect

import pytest

from keypoints import errors
from keypoints.errors import KeypointsError


def test_every_exception_of_the_errors_module_is_one_family():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, BaseException)]
    assert len(classes) > 5 and all(issubclass(c, KeypointsError) for c in classes)


def test_the_stop_signal_inside_training_is_a_keyboard_interrupt_and_the_user_sees_an_error():
    from keypoints.training.interrupts import FitInterrupted

    assert issubclass(FitInterrupted, KeyboardInterrupt) and not issubclass(FitInterrupted, Exception)
    assert issubclass(errors.TrainingInterruptedError, KeypointsError)
    assert errors.TrainingInterruptedError.exit_code == 130


def test_batching_something_that_is_not_faces_is_our_error():
    from keypoints.training.batches import as_face_tensors

    with pytest.raises(KeypointsError, match=r"^cannot batch a dict; pass FaceTensors$"):
        as_face_tensors({})
