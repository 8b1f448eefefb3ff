"""Mode classifiers: shapes, deterministic training on separable synthetic data, the on-disk cache."""

import os

import numpy as np
import pytest
import torch

from diagnostics import (
    ModeClassifier,
    PerChannelClassifier,
    classifier_info,
    load_or_train,
    train_mode_classifier,
)
from diagnostics.classifier_training import _random_shift, data_fingerprint
from diagnostics.classifiers import to_model_input

SIZE = 12
N_CLASSES = 4


def quadrant_data(n: int, seed: int):
    """uint8 images (n, 1, 12, 12): a bright 4x4 square in the quadrant given by the label, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n)
    x = rng.integers(0, 60, (n, 1, SIZE, SIZE))
    for i, label in enumerate(y):
        r, c = 6 * (label // 2) + 1, 6 * (label % 2) + 1
        x[i, 0, r : r + 4, c : c + 4] = 230
    return x.astype(np.uint8), y


def train_tiny(seed: int = 0, epochs: int = 5) -> ModeClassifier:
    torch.set_num_threads(1)
    x_tr, y_tr = quadrant_data(192, seed=1)
    x_te, y_te = quadrant_data(64, seed=2)
    return train_mode_classifier(
        x_tr, y_tr, x_te, y_te, N_CLASSES, epochs=epochs, batch_size=16, seed=seed, width=8, hidden=16
    )


@pytest.fixture(scope="module")
def tiny():
    return train_tiny()


def test_tiny_classifier_learns_and_carries_metadata(tiny):
    assert tiny.held_out_accuracy >= 0.95
    assert tiny.n_classes == N_CLASSES
    x_tr, y_tr = quadrant_data(192, seed=1)
    x_te, y_te = quadrant_data(64, seed=2)
    assert tiny.data_hash == data_fingerprint(x_tr, y_tr, x_te, y_te)
    assert not tiny.training


def test_training_is_deterministic_for_a_seed(tiny):
    before = torch.random.get_rng_state()
    again = train_tiny(seed=0)
    assert torch.equal(before, torch.random.get_rng_state())  # the global RNG is left alone
    for (name, a), b in zip(tiny.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    other = train_tiny(seed=1)
    assert not torch.equal(tiny.head.weight, other.head.weight)


@pytest.mark.parametrize("downsample", ["stride", "maxpool"])
@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 64), (1, 4)])
def test_shapes_of_forward_features_predict(channels, size, downsample):
    torch.manual_seed(0)
    model = ModeClassifier(channels, size, 7, width=4, hidden=10, downsample=downsample)
    assert model.config["downsample"] == downsample
    x = torch.rand(5, channels, size, size) * 2 - 1
    assert model(x).shape == (5, 7)
    assert model.features(x).shape == (5, 10)
    model.train()
    labels, conf = model.predict(x, batch_size=2)
    assert model.training  # predict restores the mode it found
    assert labels.dtype == torch.int64 and labels.shape == (5,)
    assert conf.dtype == torch.float32 and ((conf > 0) & (conf <= 1)).all()
    model.eval()
    assert torch.equal(labels, model(x).argmax(dim=1))
    with pytest.raises(ValueError):
        model(torch.zeros(2, channels, size + 1, size + 1))


def test_uint8_and_float_inputs_agree(tiny):
    x, _ = quadrant_data(20, seed=3)
    as_float = torch.from_numpy(x).float() / 127.5 - 1
    assert torch.equal(to_model_input(x), as_float)
    assert torch.equal(tiny.predict(x)[0], tiny.predict(as_float)[0])
    assert to_model_input(np.array([[[[0, 255]]]], dtype=np.uint8)).flatten().tolist() == [-1.0, 1.0]
    with pytest.raises(ValueError):
        to_model_input(np.zeros((1, 1, 2, 2), dtype=np.int32))


def test_training_refuses_float_images_out_of_range():
    x, y = quadrant_data(8, seed=4)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        train_mode_classifier(x.astype(np.float32), y, x.astype(np.float32), y, N_CLASSES, epochs=1)
    with pytest.raises(ValueError):
        train_mode_classifier(x, y + N_CLASSES, x, y, N_CLASSES, epochs=1)


def test_random_shift_translates_within_bounds():
    x = torch.full((50, 1, 9, 9), -1.0)
    x[:, 0, 4, 4] = 1.0
    shifted = _random_shift(x, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape
    assert (shifted == 1.0).flatten(1).sum(dim=1).eq(1).all()  # the dot moved, nothing else appeared
    rows, cols = torch.nonzero(shifted[:, 0] == 1.0)[:, 1:].T
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 5


def test_per_channel_wraps_a_trained_base(tiny):
    stacked = PerChannelClassifier(tiny, channels=3)
    x = np.concatenate([quadrant_data(6, seed=s)[0] for s in (5, 6, 7)], axis=1)
    modes, conf = stacked.predict(x)
    digits = [tiny.predict(x[:, c : c + 1])[0] for c in range(3)]
    assert torch.equal(modes, digits[0] * 16 + digits[1] * 4 + digits[2])
    assert stacked.n_classes == 64 and stacked.held_out_accuracy == tiny.held_out_accuracy
    assert stacked.features(to_model_input(x)).shape == (6, 3 * 16)
    info = classifier_info(stacked)
    assert info["channels"] == 3 and info["n_classes"] == 64
    with pytest.raises(ValueError):
        PerChannelClassifier(ModeClassifier(3, 28, 10))


def test_classifier_info_is_plain(tiny):
    info = classifier_info(tiny)
    assert info["type"] == "ModeClassifier"
    assert info["n_classes"] == N_CLASSES and info["in_channels"] == 1 and info["image_size"] == SIZE
    assert info["held_out_accuracy"] == tiny.held_out_accuracy and info["data_hash"] == tiny.data_hash
    assert info["n_parameters"] > 0 and info["feature_dim"] == 16


# ------------------------------------------------------------------------------------------ cache


class CountingTrainer:
    def __init__(self, model):
        self.model = model
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.model


def test_cache_round_trip(tmp_path, tiny):
    train = CountingTrainer(tiny)
    first = load_or_train(tmp_path, "quadrants", "abc123", train)
    assert train.calls == 1
    path = tmp_path / "quadrants-abc123.pt"
    assert path.is_file()
    assert sorted(os.listdir(tmp_path)) == ["quadrants-abc123.pt"]  # no temp file left behind
    payload = torch.load(path, weights_only=True)
    assert payload["data_hash"] == "abc123" and payload["n_classes"] == N_CLASSES
    assert payload["torch_version"] == torch.__version__

    second = load_or_train(tmp_path, "quadrants", "abc123", train)
    assert train.calls == 1  # served from the cache
    assert second is not first
    assert second.held_out_accuracy == first.held_out_accuracy
    assert second.data_hash == "abc123" and second.n_classes == N_CLASSES
    x, _ = quadrant_data(40, seed=8)
    for a, b in zip(first.predict(x), second.predict(x), strict=True):
        assert torch.equal(a, b)

    load_or_train(tmp_path, "quadrants", "def456", train)  # other data: another entry
    assert train.calls == 2
    assert (tmp_path / "quadrants-def456.pt").is_file()


def test_unknown_downsample_is_refused():
    with pytest.raises(ValueError, match="downsample must be one of"):
        ModeClassifier(1, 28, 10, downsample="avgpool")


def test_cache_files_without_downsample_hold_the_maxpool_architecture(tmp_path):
    torch.manual_seed(0)
    old = ModeClassifier(1, SIZE, N_CLASSES, width=4, hidden=8, downsample="maxpool").eval()
    old.held_out_accuracy, old.data_hash = 0.9, "abc123"
    load_or_train(tmp_path, "legacy", "abc123", lambda: old)
    path = tmp_path / "legacy-abc123.pt"
    payload = torch.load(path, weights_only=True)
    del payload["config"]["downsample"]  # as written before the option existed
    torch.save(payload, path)
    loaded = load_or_train(tmp_path, "legacy", "abc123", lambda: pytest.fail("must load, not retrain"))
    assert loaded.downsample == "maxpool"
    x = torch.rand(3, 1, SIZE, SIZE) * 2 - 1
    assert torch.equal(loaded(x), old(x))


def test_corrupt_cache_is_retrained_with_a_warning(tmp_path, tiny):
    path = tmp_path / "quadrants-abc123.pt"
    path.write_bytes(b"not a torch file")
    train = CountingTrainer(tiny)
    with pytest.warns(UserWarning, match="retraining"):
        load_or_train(tmp_path, "quadrants", "abc123", train)
    assert train.calls == 1
    load_or_train(tmp_path, "quadrants", "abc123", train)  # the rewritten file is good
    assert train.calls == 1


def test_cache_refuses_unsafe_names_and_wrong_results(tmp_path, tiny):
    with pytest.raises(ValueError):
        load_or_train(tmp_path, "../escape", "abc", CountingTrainer(tiny))
    with pytest.raises(ValueError):
        load_or_train(tmp_path, "key", "a/b", CountingTrainer(tiny))
    with pytest.raises(TypeError):
        load_or_train(tmp_path, "key", "abc", CountingTrainer(PerChannelClassifier(tiny, 2)))


def test_cache_never_unpickles_objects_and_checks_the_stored_hash(tmp_path, tiny):
    train = CountingTrainer(tiny)
    path = tmp_path / "quadrants-abc123.pt"
    torch.save({"format": 1, "payload": CountingTrainer(None)}, path)  # a pickled class instance
    with pytest.warns(UserWarning, match="retraining"):
        load_or_train(tmp_path, "quadrants", "abc123", train)
    assert train.calls == 1
    # An entry copied under another hash name is not trusted either.
    os.replace(path, tmp_path / "quadrants-zzz999.pt")
    with pytest.warns(UserWarning, match="data_hash"):
        load_or_train(tmp_path, "quadrants", "zzz999", train)
    assert train.calls == 2
