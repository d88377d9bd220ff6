"""The training-state file a run resumes from: everything comes back exactly, and a file that
is old, damaged or does not match its own config is refused with a one-line message."""

import json

import pytest
import torch
from safetensors.torch import save as save_safetensors

from poetry_rnn.errors import PoetryError
from poetry_rnn.model.charrnn import CharRNN, ModelConfig
from poetry_rnn.model.checkpoint import (
    LEGACY_FORMAT,
    load_training_state,
    save_tensors,
    save_training_state,
    tensor_digest,
)

CONFIG = ModelConfig(vocab_size=12, embedding_dim=6, hidden_size=5, num_layers=2)


def trained(steps: int = 2) -> tuple[CharRNN, torch.optim.Optimizer]:
    """A small model and its AdamW after ``steps`` steps, so that every slot is filled."""
    torch.manual_seed(0)
    model = CharRNN(CONFIG)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(steps):
        tokens = torch.randint(0, CONFIG.vocab_size, (3, 7))
        logits, _ = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, optimizer


def model_tensors(model: CharRNN) -> dict[str, torch.Tensor]:
    """The model's part of a state file: its weights, the tied decoder left out."""
    return {f"model.{k}": v for k, v in model.state_dict().items() if k != "decoder.weight"}


def test_a_saved_state_comes_back_exactly(tmp_path):
    model, optimizer = trained()
    rng = torch.get_rng_state()
    path = tmp_path / "state.safetensors"
    save_training_state(path, model, optimizer, {"run_state": '{"step": 2}'})
    state = load_training_state(path)

    assert state.model.config == CONFIG
    saved = model.state_dict()
    assert state.model.state_dict().keys() == saved.keys()
    assert all(torch.equal(state.model.state_dict()[k], saved[k]) for k in saved)
    # Every optimizer slot of every parameter, and the hyper-parameters, as they were.
    expected = optimizer.state_dict()
    groups = json.loads(json.dumps(expected["param_groups"]))  # betas a list, not a tuple
    assert state.optimizer_state["param_groups"] == groups
    assert state.optimizer_state["state"].keys() == expected["state"].keys()
    for index, slots in expected["state"].items():
        restored = state.optimizer_state["state"][index]
        assert restored.keys() == slots.keys() == {"step", "exp_avg", "exp_avg_sq"}
        assert all(torch.equal(restored[k], slots[k]) for k in slots)
    assert state.rng.keys() == ({"cpu", "cuda"} if torch.cuda.is_available() else {"cpu"})
    assert torch.equal(state.rng["cpu"], rng)
    assert state.metadata["run_state"] == '{"step": 2}'


def test_a_resumed_optimizer_takes_the_same_next_step(tmp_path):
    model, optimizer = trained()
    path = tmp_path / "state.safetensors"
    save_training_state(path, model, optimizer, {})
    state = load_training_state(path)
    resumed = torch.optim.AdamW(state.model.parameters())
    resumed.load_state_dict(state.optimizer_state)
    for net, opt in ((model, optimizer), (state.model, resumed)):
        torch.manual_seed(1)
        tokens = torch.randint(0, CONFIG.vocab_size, (3, 7))
        logits, _ = net(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), state.model.parameters(), strict=True)
    )


def test_a_state_of_an_older_format_is_refused(tmp_path):
    tensors = {"model.embedding.weight": torch.zeros(2, 2)}
    metadata = {"format": LEGACY_FORMAT}
    metadata["sha256"] = tensor_digest(tensors)  # the old digest: tensors only
    path = tmp_path / "state.safetensors"
    path.write_bytes(save_safetensors(tensors, metadata=metadata))
    with pytest.raises(PoetryError) as error:
        load_training_state(path)
    assert str(error.value) == f"{path} was written by an older poetry-rnn and cannot be resumed"


@pytest.mark.parametrize(
    ("metadata", "detail"),
    [
        ({"param_groups": "[]"}, "'model_config'"),
        ({"model_config": json.dumps(CONFIG.to_dict())}, "'param_groups'"),
        (
            {"model_config": json.dumps(CONFIG.to_dict()), "param_groups": "{"},
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
    ],
)
def test_a_state_without_its_config_or_optimizer_groups_is_refused(tmp_path, metadata, detail):
    model, _ = trained(steps=0)
    path = tmp_path / "state.safetensors"
    save_tensors(path, model_tensors(model), metadata)
    with pytest.raises(PoetryError) as error:
        load_training_state(path)
    assert str(error.value) == f"damaged training state {path}: {detail}"


def test_a_state_whose_weights_do_not_match_its_config_is_refused(tmp_path):
    model, optimizer = trained(steps=1)
    path = tmp_path / "state.safetensors"
    save_training_state(path, model, optimizer, {})
    tensors = model_tensors(model)
    wider = json.dumps(CONFIG.to_dict() | {"hidden_size": 6})
    save_tensors(path, tensors, {"model_config": wider, "param_groups": "[]"})
    with pytest.raises(PoetryError) as error:
        load_training_state(path)
    assert str(error.value).startswith(f"{path} does not match its config: ")
    assert "size mismatch" in str(error.value)
