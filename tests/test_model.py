"""The CharRNN, its config and the one loss, and model directories (sharded or not)."""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_safetensors

from poetry_rnn.app.checkpoint_cli import main
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.model.charrnn import (
    PRESETS,
    CharRNN,
    ModelConfig,
    masked_loss,
    native_bf16,
    preset_config,
    total_nll,
)
from poetry_rnn.model.checkpoint import (
    INDEX,
    LEGACY_FORMAT,
    WEIGHTS,
    from_pretrained,
    load_models,
    load_tensors,
    save_pretrained,
    tensor_digest,
)
from poetry_rnn.model.quantized import Int8CharRNN, _packed, int8_supported

VOCAB = Vocab.build(["床前看月光，疑是地上霜。举头望明月，低头思故乡。"])

# --- the model ----------------------------------------------------------------------------


def test_step_by_step_decoding_matches_the_whole_sequence():
    model = CharRNN(ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=24, num_layers=2))
    model.eval()
    tokens = torch.randint(0, 50, (3, 7))
    whole, _ = model(tokens)
    state = None
    for t in range(7):
        logits, state = model.step(tokens[:, t], state)
        torch.testing.assert_close(logits, whole[:, t])


def test_a_model_carries_its_state_from_one_call_to_the_next():
    model = CharRNN(ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=24)).eval()
    tokens = torch.randint(0, 50, (3, 7))
    whole, _ = model(tokens)
    _, state = model(tokens[:, :4])
    rest, _ = model(tokens[:, 4:], state)
    torch.testing.assert_close(rest, whole[:, 4:])


def test_dropout_is_between_layers_and_after_the_last_alone():
    two = CharRNN(ModelConfig(vocab_size=20, embedding_dim=8, hidden_size=8, dropout=0.25))
    assert two.lstm.dropout == 0.25 and two.dropout.p == 0.25
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nn.LSTM warns of dropout with one layer
        one = CharRNN(ModelConfig(vocab_size=20, embedding_dim=8, hidden_size=8, num_layers=1))
    assert one.lstm.dropout == 0 and one.dropout.p == 0.2


def test_presets_are_named_shapes_a_user_can_override():
    config = preset_config("small", 100, hidden_size=None, dropout=0.1)
    assert (config.hidden_size, config.embedding_dim, config.dropout) == (512, 256, 0.1)
    assert preset_config("large", 100) == ModelConfig(vocab_size=100, **PRESETS["large"])
    unknown = "^unknown preset 'giant'; choose one of reference, small, base, large$"
    with pytest.raises(PoetryError, match=unknown):
        preset_config("giant", 100)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([100], "a model config must be a JSON object, got list"),
        ({"vocab_size": 9, "width": 3, "colour": 1}, "unknown model config keys: colour, width"),
        ({"hidden_size": 8}, "the model config has no vocab_size"),
    ],
)
def test_a_config_read_from_a_file_is_refused_in_words(data, message):
    with pytest.raises(PoetryError, match=f"^{message}$"):
        ModelConfig.from_dict(data)


def test_the_parameter_bound_admits_a_model_of_exactly_its_size(monkeypatch):
    size = ModelConfig(vocab_size=100).num_parameters()
    monkeypatch.setattr("poetry_rnn.model.charrnn.MAX_PARAMETERS", size)
    ModelConfig(vocab_size=100)  # exactly at the bound: admitted
    with pytest.raises(PoetryError, match="too large"):
        ModelConfig(vocab_size=101)


@pytest.mark.parametrize("cuda", [True, False])
@pytest.mark.parametrize("cpu", ["_is_avx512_bf16_supported", "_is_amx_tile_supported", None])
def test_bf16_is_native_on_the_devices_that_say_so(cuda, cpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: cuda)
    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, check, lambda check=check: check == cpu, raising=False)
    assert native_bf16(torch.device("cuda")) is cuda
    assert native_bf16(torch.device("cpu")) is (cpu is not None)


def test_a_torch_without_the_cpu_checks_has_no_native_bf16(monkeypatch):
    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.delattr(torch.cpu, check, raising=False)
    assert native_bf16(torch.device("cpu")) is False


def test_tied_weights_share_the_embedding_through_a_projection():
    model = CharRNN(ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=24, tie_weights=True))
    assert model.decoder.weight is model.embedding.weight
    assert model.projection is not None and model.projection.out_features == 16
    untied = CharRNN(
        ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=24, tie_weights=False)
    )
    assert untied.projection is None and untied.decoder.weight is not untied.embedding.weight


@pytest.mark.parametrize("preset", ["reference", "small", "base", "large"])
@pytest.mark.parametrize("tied", [True, False])
def test_the_parameter_count_is_known_before_allocating(preset, tied):
    config = preset_config(preset, 7100, tie_weights=tied)
    assert config.num_parameters() == CharRNN(config).num_parameters()


@pytest.mark.parametrize(("preset", "dtype"), [("small", None), ("large", torch.bfloat16)])
def test_what_ships_fits_in_40_mb(preset, dtype, tmp_path):
    vocab = Vocab(["<pad>", "<s>", "</s>", "<unk>", *(chr(0x4E00 + i) for i in range(9900))])
    model = CharRNN(preset_config(preset, len(vocab)))
    save_pretrained(tmp_path, model, vocab, dtype=dtype)
    assert sum(f.stat().st_size for f in tmp_path.iterdir()) <= 40 * 2**20


def test_padding_never_changes_the_loss():
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=30, embedding_dim=8, hidden_size=16)).eval()
    batch = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    padded = torch.cat([batch, torch.zeros(2, 6, dtype=torch.long)], dim=1)
    torch.testing.assert_close(masked_loss(model, batch, [0]), masked_loss(model, padded, [0]))


def test_total_nll_counts_only_predicted_targets_and_keeps_the_mode():
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=30, embedding_dim=8, hidden_size=16))
    right = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    front = torch.tensor([[1, 5, 6, 7, 2], [0, 1, 8, 9, 2]])  # the start token is a target here
    total, count = total_nll(model, [right], ignore=[0])
    assert count == 7  # 4 + 3 targets; padding never predicted
    front_total, front_count = total_nll(model, [front], ignore=[0, 1])
    assert front_count == 7
    assert model.training  # evaluation put it back in training mode
    model.eval()
    one = masked_loss(model, right[:1], [0], reduction="sum").item()
    two = masked_loss(model, right[1:, :4], [0], reduction="sum").item()
    assert total == pytest.approx(one + two, rel=1e-5)
    total_nll(model, [right], ignore=[0])
    assert not model.training
    del front_total


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden_size": 10**9}, "hidden_size must be between 1 and 8,192"),
        ({"num_layers": 10**6}, "num_layers must be between 1 and 16"),
        ({"hidden_size": 512.0}, "hidden_size must be an integer"),
        ({"vocab_size": 7.5}, "vocab_size must be an integer"),
        ({"embedding_dim": True}, "embedding_dim must be an integer"),
        ({"dropout": "0.1"}, "dropout must be a number"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\), got -0.1"),
        ({"tie_weights": 1}, "tie_weights must be true or false"),
        ({"direction": "sideways"}, "direction must be forward or backward"),
        ({"hidden_size": 8192, "num_layers": 16}, "parameters is too large"),
    ],
)
def test_a_bad_model_config_is_refused_before_allocating(change, message):
    with pytest.raises(PoetryError, match=message):
        ModelConfig(**({"vocab_size": 100} | change))


# --- model directories ----------------------------------------------------------------------


def _model(**config) -> CharRNN:
    torch.manual_seed(0)
    shape = {"vocab_size": len(VOCAB), "embedding_dim": 8, "hidden_size": 12} | config
    return CharRNN(ModelConfig(**shape)).eval()


def _saved_model(directory: Path, **options) -> Path:
    save_pretrained(directory, _model(), VOCAB, **options)
    return directory


def test_checkpoint_round_trip(tmp_path):
    model = _model()
    save_pretrained(tmp_path / "m", model, VOCAB, metrics={"val_ppl": 12.5})
    loaded, loaded_vocab = from_pretrained(tmp_path / "m")
    tokens = torch.tensor([VOCAB.encode("床前看月光", wrap=True)])
    assert loaded_vocab == VOCAB and loaded.config == model.config
    assert torch.equal(loaded(tokens)[0], model(tokens)[0])
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json", "metrics.json", "model.safetensors", "vocab.json"
    ]  # fmt: skip


def test_sharded_weights_load_transparently(tmp_path):
    model = _model(embedding_dim=32, hidden_size=64)
    save_pretrained(tmp_path, model, VOCAB, dtype=torch.bfloat16, max_shard_bytes=20_000)
    shards = sorted(p.name for p in tmp_path.glob("model-*.safetensors"))
    count = len(shards)
    assert count >= 3
    assert shards == [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]
    index = json.loads((tmp_path / INDEX).read_text())
    for shard in shards:  # at most the size asked for, unless one tensor alone is larger
        held = [name for name, file in index["weight_map"].items() if file == shard]
        assert (tmp_path / shard).stat().st_size <= 20_000 + 4096 or len(held) == 1
    assert set(index["weight_map"].values()) == set(shards)
    assert not (tmp_path / WEIGHTS).exists()
    loaded, _ = from_pretrained(tmp_path)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor.bfloat16().float())
    save_pretrained(tmp_path, model, VOCAB)  # saved again whole: the shards go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", WEIGHTS, "vocab.json"]


def _damage(directory: Path, damage: str) -> None:
    shard = sorted(directory.glob("model-*.safetensors"))
    weights = shard[0] if shard else directory / WEIGHTS
    if damage == "flip a weight byte":
        data = bytearray(weights.read_bytes())
        data[-5] ^= 0x01
        weights.write_bytes(bytes(data))
    elif damage == "truncate the weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "vocab of another size":
        Vocab.build(["山水"]).save(directory / "vocab.json")
    elif damage == "vocab reordered":
        tokens = VOCAB.tokens[:4] + VOCAB.tokens[4:][::-1]
        Vocab(tokens).save(directory / "vocab.json")
    elif damage == "config of another shape":
        config = json.loads((directory / "config.json").read_text())
        config["model"]["dropout"] = 0.5
        (directory / "config.json").write_text(json.dumps(config))
    elif damage == "config of a backward model":
        config = json.loads((directory / "config.json").read_text())
        config["model"]["direction"] = "backward"
        (directory / "config.json").write_text(json.dumps(config))
    elif damage == "a shard missing":
        shard[1].unlink()
    elif damage == "shards swapped":
        first, second = shard[0].read_bytes(), shard[1].read_bytes()
        shard[0].write_bytes(second)
        shard[1].write_bytes(first)
    elif damage == "index names other files":
        index = json.loads((directory / INDEX).read_text())
        index["weight_map"] = {
            k: v.replace("model-", "weights-") for k, v in index["weight_map"].items()
        }
        (directory / INDEX).write_text(json.dumps(index))
    elif damage == "index moves a tensor":  # from a shard of several tensors to another shard
        index = json.loads((directory / INDEX).read_text())
        files = list(index["weight_map"].values())
        crowded = max(set(files), key=files.count)
        name = next(t for t, file in index["weight_map"].items() if file == crowded)
        index["weight_map"][name] = next(file for file in files if file != crowded)
        (directory / INDEX).write_text(json.dumps(index))
    else:
        (directory / "config.json").unlink()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip a weight byte", "checksum does not match"),
        ("truncate the weights", "damaged checkpoint file"),
        ("vocab of another size", "vocab.json has"),
        ("vocab reordered", "another model config or vocabulary"),
        ("config of another shape", "another model config or vocabulary"),
        ("no config", "not a model directory"),
    ],
)
def test_tampered_checkpoint_is_refused(damage, message, tmp_path):
    directory = _saved_model(tmp_path / "m")
    _damage(directory, damage)
    with pytest.raises(PoetryError, match=message):
        from_pretrained(directory)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip a weight byte", "checksum does not match"),
        ("a shard missing", "missing"),
        ("shards swapped", "is not shard 1 of"),
        ("index names other files", "names files that are not this model's shards"),
        ("index moves a tensor", "does not hold the tensors"),
        ("vocab reordered", "another model config or vocabulary"),
    ],
)
def test_a_damaged_sharded_model_is_refused(damage, message, tmp_path):
    model = _model(embedding_dim=32, hidden_size=64)
    save_pretrained(tmp_path, model, VOCAB, max_shard_bytes=30_000)
    assert len(list(tmp_path.glob("model-*"))) > 2
    _damage(tmp_path, damage)
    with pytest.raises(PoetryError, match=message):
        from_pretrained(tmp_path)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_weights_that_are_not_finite_are_refused_in_one_line(value, precision, tmp_path):
    model = _model()
    with torch.no_grad():
        model.lstm.weight_hh_l0[3, 2] = value
    save_pretrained(tmp_path, model, VOCAB)  # checksums and all: only the numbers are wrong
    if precision == "int8" and not int8_supported():
        pytest.skip("no int8 kernels")
    with pytest.raises(PoetryError) as error:
        load_models(tmp_path, precision=precision)
    assert str(error.value) == (
        f"{tmp_path} holds weights that are not finite numbers (in lstm.weight_hh_l0)"
    )


def test_a_model_of_the_other_direction_is_refused(tmp_path):
    save_pretrained(tmp_path / "b", _model(direction="backward"), VOCAB)
    with pytest.raises(PoetryError, match="holds a backward model, but a forward one is needed"):
        from_pretrained(tmp_path / "b")
    save_pretrained(tmp_path / "f", _model(), VOCAB)
    with pytest.raises(PoetryError, match="holds a forward model, but a backward one is needed"):
        from_pretrained(tmp_path / "f", direction="backward")


def test_load_models_pairs_a_backward_model_of_the_same_vocabulary(tmp_path, monkeypatch):
    save_pretrained(tmp_path / "f", _model(), VOCAB)
    save_pretrained(tmp_path / "b", _model(direction="backward"), VOCAB)
    forward, vocab, backward = load_models(tmp_path / "f", tmp_path / "b", precision="fp32")
    assert vocab == VOCAB and backward.config.direction == "backward"
    assert {p.dtype for m in (forward, backward) for p in m.parameters()} == {torch.float32}
    assert load_models(tmp_path / "f", precision="fp32").backward is None
    cases = [
        (True, False, "int8", "int8"),
        (True, False, "bf16", torch.bfloat16),
        (True, True, "auto", "int8"),
        (False, True, "auto", torch.bfloat16),
        (False, False, "auto", torch.float32),
        (True, True, "fp32", torch.float32),
    ]
    for int8, native, precision, kind in cases:
        monkeypatch.setattr("poetry_rnn.model.checkpoint.int8_supported", lambda i=int8: i)
        monkeypatch.setattr("poetry_rnn.model.checkpoint.native_bf16", lambda device, n=native: n)
        both = load_models(tmp_path / "f", tmp_path / "b", precision=precision)
        for model in both.forward, both.backward:
            if kind == "int8":
                assert isinstance(model, Int8CharRNN)
            else:
                assert {p.dtype for p in model.parameters()} == {kind}
        assert both.backward.config.direction == "backward"

    other = Vocab.build(["白日依山尽，黄河入海流。"])
    save_pretrained(tmp_path / "o", _model(direction="backward", vocab_size=len(other)), other)
    with pytest.raises(PoetryError, match=r"o has another vocabulary than the forward model$"):
        load_models(tmp_path / "f", tmp_path / "o")
    with pytest.raises(PoetryError, match="holds a forward model, but a backward one is needed"):
        load_models(tmp_path / "f", tmp_path / "f")
    message = r"^precision must be auto, int8, bf16 or fp32, got 'fp16'$"
    with pytest.raises(PoetryError, match=message):
        load_models(tmp_path / "f", precision="fp16")


def test_int8_without_its_kernels_is_refused_and_auto_falls_back(tmp_path, monkeypatch):
    save_pretrained(tmp_path, _model(), VOCAB)
    monkeypatch.setattr("poetry_rnn.model.checkpoint.int8_supported", lambda: False)
    engines = ", ".join(torch.backends.quantized.supported_engines)
    message = f"int8 runs on a CPU whose PyTorch has the fbgemm kernels; this is cpu with {engines}"
    with pytest.raises(PoetryError, match=f"^{re.escape(message)}$"):
        load_models(tmp_path, precision="int8")
    dtype = torch.bfloat16 if native_bf16(torch.device("cpu")) else torch.float32
    assert {p.dtype for p in load_models(tmp_path).forward.parameters()} == {dtype}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_on_a_machine_without_it_is_a_user_error(tmp_path):
    with pytest.raises(PoetryError, match="no CUDA device is available"):
        from_pretrained(_saved_model(tmp_path), device="cuda")


def test_the_shipped_model_loads():
    model, vocab = from_pretrained()
    assert model.config.direction == "forward" and len(vocab) == model.config.vocab_size


def test_the_cli_copies_a_model_in_bf16_shards(tmp_path, capsys):
    model = _model(embedding_dim=32, hidden_size=64)
    save_pretrained(tmp_path / "fp32", model, VOCAB, metrics={"best": {"val_ppl": 9.5}})
    argv = [str(tmp_path / "fp32"), str(tmp_path / "bf16"), "--dtype", "bf16"]
    assert run_cli(main, [*argv, "--max-shard-mb", "0.04"]) == 0
    assert "wrote" in capsys.readouterr().out
    shards = list((tmp_path / "bf16").glob("model-*-of-*.safetensors"))
    assert len(shards) > 1 and all(shard.stat().st_size <= 0.04 * 2**20 for shard in shards)
    loaded, vocab = from_pretrained(tmp_path / "bf16")
    assert vocab == VOCAB
    assert json.loads((tmp_path / "bf16" / "metrics.json").read_text())["best"]["val_ppl"] == 9.5
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor.bfloat16().float())
    assert run_cli(main, [str(tmp_path / "nowhere"), str(tmp_path / "x")]) == 2
    capsys.readouterr()
    for size in ("0", "-1", "nan", "inf", "lots"):
        assert run_cli(main, [*argv, "--max-shard-mb", size]) == 2
        err = capsys.readouterr().err
        assert "expected a number of megabytes above 0" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        ("broken JSON", "Expecting value: line 1 column 7 (char 6)"),
        ("a list", "not a JSON object"),
        ("a directory", "Is a directory"),
    ],
)
def test_the_cli_refuses_a_damaged_metrics_file_in_one_line(damage, detail, tmp_path, capsys):
    save_pretrained(tmp_path / "m", _model(), VOCAB, metrics={"best": {"val_ppl": 9.5}})
    metrics = tmp_path / "m" / "metrics.json"
    if damage == "a directory":
        metrics.unlink()
        metrics.mkdir()
    else:
        metrics.write_text({"broken JSON": '{"a": ', "a list": "[1]"}[damage])
    assert run_cli(main, [str(tmp_path / "m"), str(tmp_path / "copy")]) == 2
    assert capsys.readouterr().err == f"error: damaged {metrics}: {detail}\n"
    assert not (tmp_path / "copy").exists()


def test_a_write_that_fails_is_one_line_naming_its_target_and_loses_nothing(tmp_path, capsys):
    model = _model(embedding_dim=32, hidden_size=64)
    save_pretrained(tmp_path / "m", model, VOCAB, metrics={"best": {"val_ppl": 9.5}})
    copy = [str(tmp_path / "m"), str(tmp_path / "copy")]
    (tmp_path / "copy" / "metrics.json").mkdir(parents=True)  # a directory in its place
    assert run_cli(main, copy) == 2
    assert capsys.readouterr().err == (
        f"error: cannot write {tmp_path / 'copy' / 'metrics.json'}: Is a directory\n"
    )
    (tmp_path / "copy" / "metrics.json").rmdir()
    assert run_cli(main, copy) == 0
    before = {path.name: path.read_bytes() for path in (tmp_path / "copy").iterdir()}

    # A disk that fills up part-way: files of at most 8 KiB (ulimit -f) in a fresh process.
    resource = pytest.importorskip("resource")  # Unix

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-m", "poetry_rnn.checkpoint", *copy, "--dtype", "fp16"],
        capture_output=True, text=True, preexec_fn=small_files,
        env=os.environ | {"PYTHONPATH": root}, check=False,
    )  # fmt: skip
    target = tmp_path / "copy" / WEIGHTS
    assert (done.returncode, done.stderr) == (2, f"error: cannot write {target}: File too large\n")
    assert {path.name: path.read_bytes() for path in (tmp_path / "copy").iterdir()} == before


def test_a_shard_file_keeps_to_its_size_with_its_header(tmp_path):
    model = _model(embedding_dim=32, hidden_size=64)
    sizes = [t.numel() * 2 for name, t in model.state_dict().items() if name != "decoder.weight"]
    limit = sizes[0] + sizes[1] + 300  # the first two tensors' bytes fit, but not their file
    save_pretrained(tmp_path, model, VOCAB, dtype=torch.bfloat16, max_shard_bytes=limit)
    shards = sorted(tmp_path.glob("model-*-of-*.safetensors"))
    for path in shards:
        alone = len(load_tensors(path)[0]) == 1  # a tensor larger than the limit stands alone
        assert path.stat().st_size <= limit or alone
    assert len(load_tensors(shards[0])[0]) == 1
    save_pretrained(tmp_path, model, VOCAB, max_shard_bytes=1)  # every tensor alone
    assert len(list(tmp_path.glob("model-*-of-*.safetensors"))) == len(sizes)


@pytest.mark.parametrize("tied", [True, False])
def test_the_cli_cuts_a_model_to_its_most_frequent_characters(tmp_path, capsys, tied):
    model = _model(tie_weights=tied)
    save_pretrained(tmp_path / "full", model, Vocab(VOCAB.tokens, min_freq=2))
    argv = [str(tmp_path / "full"), str(tmp_path / "cut"), "--vocab-size"]
    assert run_cli(main, [*argv, str(len(VOCAB))]) == 0  # all of it: a plain copy
    assert from_pretrained(tmp_path / "cut")[1] == VOCAB
    assert run_cli(main, [*argv, "10"]) == 0
    cut, vocab = from_pretrained(tmp_path / "cut")
    assert vocab.tokens == VOCAB.tokens[:10] and cut.config.vocab_size == 10
    assert vocab.min_freq == 2
    # The kept characters score as before, the others read as <unk>.
    ids = torch.tensor([VOCAB.encode("头月，上举", wrap=True)])
    assert ids.max() < 10 and vocab.encode("床乡") == [vocab.unk_id] * 2
    with torch.inference_mode():
        assert torch.allclose(cut(ids)[0], model(ids)[0][..., :10], atol=1e-6)
    for size in ("4", str(len(VOCAB) + 1)):
        assert run_cli(main, [*argv, size]) == 2
        assert f"between 5 and {len(VOCAB)} tokens, not {size}" in capsys.readouterr().err


def _legacy_model(directory: Path) -> CharRNN:
    """A model directory as poetry-rnn wrote them first (format poetry-rnn/1): the vocabulary's
    digest in config.json, the weights' digest over the tensors alone."""
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(len(VOCAB), 8, 16, 1))
    directory.mkdir()
    VOCAB.save(directory / "vocab.json")
    config = {"format": LEGACY_FORMAT, "model": model.config.to_dict(),
              "vocab_sha256": VOCAB.digest()}  # fmt: skip
    del config["model"]["direction"]  # the first format knew one direction
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    tensors = {k: v for k, v in model.state_dict().items() if k != "decoder.weight"}
    metadata = {"format": LEGACY_FORMAT, "sha256": tensor_digest(tensors)}
    (directory / WEIGHTS).write_bytes(save_safetensors(tensors, metadata=metadata))
    return model


def test_a_model_of_the_first_format_still_loads_and_its_vocabulary_is_checked(tmp_path):
    model = _legacy_model(tmp_path / "old")
    loaded, vocab = from_pretrained(tmp_path / "old")
    assert vocab == VOCAB and loaded.config == model.config
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    Vocab(VOCAB.tokens[:4] + VOCAB.tokens[5:] + VOCAB.tokens[4:5]).save(
        tmp_path / "old" / "vocab.json"
    )
    with pytest.raises(PoetryError, match="not the vocabulary the model was saved with"):
        from_pretrained(tmp_path / "old")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("reorder the vocabulary", "belongs to another model config or vocabulary"),
        ("hidden size 1e9", "hidden_size must be between 1 and 8,192"),
        ("a million layers", "num_layers must be between 1 and 16"),
        ("a float hidden size", "hidden_size must be an integer"),
        ("a float vocab size", "vocab_size must be an integer"),
    ],
)
def test_an_edited_copy_of_the_shipped_model_is_refused(edit, message, tmp_path):
    from poetry_rnn.model.checkpoint import SHIPPED_MODEL

    directory = Path(shutil.copytree(SHIPPED_MODEL, tmp_path / "m"))
    config = json.loads((directory / "config.json").read_text())
    if edit == "reorder the vocabulary":
        vocab = Vocab.load(directory / "vocab.json")
        Vocab(vocab.tokens[:4] + vocab.tokens[5:] + vocab.tokens[4:5]).save(
            directory / "vocab.json"
        )
    else:
        key, value = {
            "hidden size 1e9": ("hidden_size", 10**9),
            "a million layers": ("num_layers", 10**6),
            "a float hidden size": ("hidden_size", 512.0),
            "a float vocab size": ("vocab_size", 7098.5),
        }[edit]
        config["model"][key] = value
        (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(PoetryError, match=message):
        from_pretrained(directory)


def test_an_untied_model_keeps_its_own_decoder(tmp_path):
    # Same widths, so that an embedding loaded in place of the decoder would fit unnoticed.
    model = _model(embedding_dim=12, hidden_size=12, tie_weights=False)
    save_pretrained(tmp_path, model, VOCAB)
    loaded, _ = from_pretrained(tmp_path)
    assert torch.equal(loaded.decoder.weight, model.decoder.weight)
    assert not torch.equal(loaded.decoder.weight, loaded.embedding.weight)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('{"format": "other/9", "model": {}}', "{path} is not a poetry-rnn/2 model config"),
        ('["poetry-rnn/2"]', "{path} is not a poetry-rnn/2 model config"),
        ('{"format": "poetry-rnn/2"}', "damaged {path}: it has no model section"),
        ("{", "damaged {path}: Expecting property name enclosed in double quotes: line 1 "
              "column 2 (char 1)"),
    ],
)  # fmt: skip
def test_a_config_of_another_format_or_damaged_is_refused_in_one_line(config, message, tmp_path):
    directory = _saved_model(tmp_path / "m")
    path = directory / "config.json"
    path.write_text(config)
    with pytest.raises(PoetryError) as error:
        from_pretrained(directory)
    assert str(error.value) == message.format(path=path)


def test_a_damaged_shard_index_is_refused_in_one_line(tmp_path):
    save_pretrained(tmp_path, _model(embedding_dim=32, hidden_size=64), VOCAB,
                    max_shard_bytes=30_000)  # fmt: skip
    for index, detail in (
        ('{"weight_map": 3}', "its weight_map is not an object"),
        ('{"weight_map": {"a": 1, "b": "x"}}', "its weight_map names a file by a non-string"),
        ('{"weight_map": {"a": [1]}}', "its weight_map names a file by a non-string"),
        ('{"weight_map": {"a": null}}', "its weight_map names a file by a non-string"),
        ('{"metadata": {}}', "'weight_map'"),
        ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ):
        (tmp_path / INDEX).write_text(index)
        with pytest.raises(PoetryError) as error:
            from_pretrained(tmp_path)
        assert str(error.value) == f"damaged {tmp_path / INDEX}: {detail}"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (None, "its checksum does not match"),  # no metadata at all: no digest to match
        ("null", "its metadata is not an object"),
    ],
)
def test_a_tensor_file_without_its_metadata_is_refused(metadata, message, tmp_path):
    data = save_safetensors({"a": torch.zeros(2)})
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    if metadata is not None:
        header["__metadata__"] = json.loads(metadata)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path = tmp_path / "model.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + size :])
    with pytest.raises(PoetryError) as error:
        load_tensors(path)
    assert str(error.value) == f"damaged checkpoint file {path}: {message}"


def test_a_weights_path_that_cannot_be_read_is_refused_in_one_line(tmp_path):
    with pytest.raises(PoetryError) as error:
        load_tensors(tmp_path)  # a directory
    assert str(error.value) == f"cannot read {tmp_path}: Is a directory"


def _uneven_model(**config) -> CharRNN:
    """A small model whose matrix rows differ in scale a thousandfold, as trained ones do, and
    whose output bias is not zero."""
    model = _model(**({"embedding_dim": 16, "hidden_size": 24} | config))
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() == 2:
                weight.mul_(torch.logspace(-2, 1, len(weight))[torch.randperm(len(weight)), None])
        model.decoder.bias.normal_()
    return model


@pytest.mark.parametrize("projected", [True, False])
def test_an_int8_model_scores_as_the_model_it_came_from(projected):
    model = _uneven_model() if projected else _uneven_model(embedding_dim=24)
    assert (model.projection is not None) == projected
    int8 = Int8CharRNN(model)
    tokens = torch.randint(len(VOCAB), (3, 10))
    with torch.inference_mode():
        expected, (h, c) = model(tokens)
        logits, (int8_h, int8_c) = int8(tokens)
        assert logits.shape == expected.shape and int8_h.shape == h.shape == int8_c.shape
        error = (logits.log_softmax(-1) - expected.log_softmax(-1)).abs()
        assert error.max() < 0.03 and error.mean() < 0.002
        # One scale per row: with one per matrix the small rows lose their digits (0.012).
        assert (int8_c - c).abs().max() < 0.01
        # A step at a time reads the same; its activations are quantized per call.
        state = None
        for t in range(tokens.shape[1]):
            one, one_state = int8(tokens[:, t : t + 1], state)
            step, state = int8.step(tokens[:, t], state)
            assert torch.allclose(step, logits[:, t], atol=0.05)
            # step is forward over one position, in fewer operations: exactly.
            assert torch.equal(step, one[:, 0])
            assert all(map(torch.equal, state, one_state))
        assert torch.allclose(state[1], int8_c, atol=0.02)


def test_each_rows_largest_weight_survives_int8_exactly():
    weight = _uneven_model().decoder.weight.detach()
    quantized, _ = torch.ops.quantized.linear_unpack(_packed(weight))
    largest = weight.abs().amax(1)
    assert torch.allclose(quantized.dequantize().abs().amax(1), largest, rtol=1e-6)
    assert quantized.int_repr().abs().amax(1).eq(127).all()


def test_an_int8_model_is_for_inference_only():
    int8 = Int8CharRNN(_model())
    assert not int8.training and int8.config == _model().config
    message = "^an Int8CharRNN is for inference; train the CharRNN it came from$"
    with pytest.raises(RuntimeError, match=message):
        int8.train()
    # PyTorch has fbgemm's int8 kernels on x86 CPUs, where auto chooses int8.
    assert int8_supported() == (platform.machine().lower() in ("x86_64", "amd64"))
