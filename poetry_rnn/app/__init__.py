"""The app: the command lines, the poetry-rnn script, the web demo, the GPU recipe."""
