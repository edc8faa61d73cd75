"""Quiet, deterministic TensorFlow/Keras set-up shared by the TF-using modules."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import tensorflow as tf

tf.get_logger().setLevel("ERROR")


def seed_everything(seed: int) -> None:
    """Fix Python, numpy and TF seeds so training runs are repeatable."""
    keras.utils.set_random_seed(int(seed))


__all__ = ["keras", "tf", "seed_everything"]
