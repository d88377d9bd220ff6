"""The model: the CharRNN and its config, the one loss, model directories (sharded safetensors),
int8."""
